// One registration function per exported concept; addon.cc calls them all
// (and the bench's addon, native/bench/, calls RegisterInfo).
#pragma once

#include <napi.h>

namespace normkit {
namespace binding {

void RegisterStats(Napi::Env env, Napi::Object exports);      // stats.cc
void RegisterBatchNorm(Napi::Env env, Napi::Object exports);  // batch_norm.cc
void RegisterOptimizer(Napi::Env env, Napi::Object exports);  // optimizer.cc
void RegisterInfo(Napi::Env env, Napi::Object exports);       // info.cc
void RegisterPrepared(Napi::Env env, Napi::Object exports);   // prepared.cc

}  // namespace binding
}  // namespace normkit
