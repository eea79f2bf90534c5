// channelStats / channelStatsAsync(x, outer, channels, inner, mean, variance)
#include "channel_stats.h"

#include "args.h"
#include "async.h"
#include "exports.h"
#include "prepared.h"

namespace normkit {
namespace binding {
namespace {

struct ChannelStatsCall {
  ArrayArg x, mean, variance;
  Layout layout;

  void Run() const {
    if (x.dtype == DType::kFloat32) {
      ChannelStats(x.as<const float>(), layout, mean.as<float>(), variance.as<float>());
    } else {
      ChannelStats(x.as<const double>(), layout, mean.as<double>(), variance.as<double>());
    }
  }
};

ChannelStatsCall ParseChannelStats(Args& a) {
  ChannelStatsCall c;
  c.x = a.Array(0, "x");
  c.layout = a.Dims(1);
  c.mean = a.Array(4, "mean");
  c.variance = a.Array(5, "variance");
  a.SameDType(c.x, {&c.mean, &c.variance});
  a.ExpectCount(c.x, c.layout);
  a.ExpectChannels(c.mean, c.layout);
  a.ExpectChannels(c.variance, c.layout);
  a.NoOverlap({&c.mean, &c.variance}, {&c.x});
  return c;
}

}  // namespace

void RegisterStats(Napi::Env env, Napi::Object exports) {
  RegisterRaw(env, exports, "channelStats", RunSync<ChannelStatsCall, ParseChannelStats>);
  RegisterRaw(env, exports, "channelStatsAsync", RunAsync<ChannelStatsCall, ParseChannelStats>);
  RegisterRaw(env, exports, "prepareChannelStats", Prepare<ChannelStatsCall, ParseChannelStats>);
}

}  // namespace binding
}  // namespace normkit
