// channelStats / channelStatsAsync / prepareChannelStats(x, outer, channels,
// inner, mean, variance)
#include "kernels/channel_stats.h"

#include "args.h"
#include "entry.h"
#include "exports.h"

namespace normkit {
namespace binding {
namespace {

struct ChannelStatsCall {
  ArrayArg x, mean, variance;
  Layout layout;

  void Run() const {
    WithDType(x.dtype, [&](auto tag) {
      using T = ValueOf<decltype(tag)>;
      ChannelStats(x.as<const T>(), layout, mean.as<T>(), variance.as<T>());
    });
  }
};

ChannelStatsCall ParseChannelStats(Args& a) {
  ChannelStatsCall c;
  c.x = a.Array(0, "x");
  c.layout = a.Dims(1);
  c.mean = a.Array(4, "mean");
  c.variance = a.Array(5, "variance");
  a.SameDType(c.x, {&c.mean, &c.variance});
  a.ExpectShapes(c.layout, {&c.x}, {&c.mean, &c.variance});
  a.NoOverlap({&c.mean, &c.variance}, {&c.x});
  return c;
}

}  // namespace

void RegisterStats(Napi::Env env, Napi::Object exports) {
  RegisterKernel<ChannelStatsCall, ParseChannelStats>(
      env, exports, {"channelStats", "channelStatsAsync", "prepareChannelStats"});
}

}  // namespace binding
}  // namespace normkit
