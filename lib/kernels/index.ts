/**
 * The kernel API, `nk.kernels`: batch normalization and channel statistics
 * on typed arrays, for services and hot loops. Every function takes optional
 * output buffers, so a steady-state loop allocates nothing; each has an
 * `...Async` twin that runs on the libuv thread pool and keeps the event loop
 * free, and a `prepare...` twin that checks a call once and returns a
 * {@link PreparedKernel} whose `run()` repeats it on the same buffers without
 * any per-call checks. Each function makes one call into the binding, which
 * runs one kernel (a C++ function in native/kernels/).
 *
 * The data layout is given either as `{ outer, channels, inner }` (the view
 * of native/kernels/layout.h) or as `{ shape, axis }` (axis default -1).
 */
export type { KernelLayout } from './layout.js';
export {
  batchNormBackward,
  batchNormBackwardAsync,
  batchNormInfer,
  batchNormInferAsync,
  batchNormTrain,
  batchNormTrainAsync,
  type BatchNormBackwardOptions,
  type BatchNormBackwardOutput,
  type BatchNormInferOptions,
  type BatchNormTrainOptions,
  type BatchNormTrainOutput,
} from './batch_norm.js';
export { channelStats, channelStatsAsync, type ChannelStatsOptions, type ChannelStatsOutput } from './channel_stats.js';
export {
  prepareBatchNormBackward,
  prepareBatchNormInfer,
  prepareBatchNormTrain,
  prepareChannelStats,
  type PreparedKernel,
} from './prepared.js';
