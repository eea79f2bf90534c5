/**
 * The batch-norm ops on the native kernels: training (batch statistics),
 * inference (given statistics), ghost batches, batch renormalization, and
 * async twins of the plain forwards. Arguments arrive validated (by the
 * layer or the kernel API, `nk.kernels`). Their gradients are in
 * lib/gradients/batch_norm_grad.ts.
 */
import { allocate, allocateUninit, type FloatArray } from '../core/dtype.js';
import type { ChannelLayout } from '../core/layout.js';
import { native } from '../native.js';
import { isRecording, recordOp } from '../autodiff/tape.js';
import { Tensor } from '../core/tensor.js';
import { add, mul } from './elementwise.js';

/** Result of a training-mode forward: the output and the batch statistics. */
export interface BatchNormTrainResult {
  y: Tensor;
  /** Per-channel batch mean. */
  mean: FloatArray;
  /** Per-channel biased batch variance. */
  variance: FloatArray;
  /** Per-channel 1 / sqrt(variance + epsilon). */
  invStd: FloatArray;
}

/** Per-channel buffers a caller can lend {@link batchNormTrainOp} for the statistics. */
export interface BatchNormStatsScratch {
  mean: FloatArray;
  variance: FloatArray;
  invStd: FloatArray;
}

/**
 * Differentiable batch normalization with batch statistics over the
 * [outer, channels, inner] view of `x`. Arguments are already validated by
 * the caller (the layer or the kernel API): same dtype, `gamma`/`beta` of
 * `channels` values or null (1 / 0), at least two values per channel.
 *
 * The gradient flows through the batch statistics:
 * dx = gamma * invStd * (dy - mean(dy) - xhat * mean(dy * xhat)).
 * `out`, when given, receives y (same shape and dtype as x, memory not
 * shared with x; checked by the caller) and is returned.
 *
 * `scratch` (x's dtype, `channels` values each, sharing memory with nothing
 * else of the call) receives the statistics when no gradient tape records,
 * and the result's mean/variance/invStd are then those buffers: a caller that
 * reads them before its next call (the layer's moving update) allocates
 * nothing per call but y. While a tape records, the recorded backward keeps
 * mean and invStd, so they are always fresh arrays then.
 */
export function batchNormTrainOp(
  x: Tensor,
  layout: ChannelLayout,
  gamma: Tensor | null,
  beta: Tensor | null,
  epsilon: number,
  out?: Tensor,
  scratch?: BatchNormStatsScratch,
): BatchNormTrainResult {
  const { outer, channels, inner } = layout;
  const recording = isRecording();
  const y = out ? out.data : allocateUninit(x.dtype, x.size);
  const { mean, variance, invStd } = scratch !== undefined && !recording ? scratch : statsBuffers(x, channels);
  native.batchNormTrain(x.data, outer, channels, inner, gamma?.data ?? null, beta?.data ?? null, epsilon, y, mean, variance, invStd);
  const result = written(out, y, x);
  if (recording) recordBackward('BatchNormTrain', x, layout, gamma, beta, result, { mean, invStd }, true);
  return { y: result, mean, variance, invStd };
}

/**
 * Differentiable batch normalization with given (frozen) statistics. The
 * statistics are copied for the recorded backward (when a tape records), so
 * later updates of moving averages do not change the recorded gradient; they
 * receive no gradient themselves.
 */
export function batchNormInferOp(
  x: Tensor,
  layout: ChannelLayout,
  gamma: Tensor | null,
  beta: Tensor | null,
  mean: FloatArray,
  variance: FloatArray,
  epsilon: number,
  out?: Tensor,
): Tensor {
  const { outer, channels, inner } = layout;
  const y = out ? out.data : allocateUninit(x.dtype, x.size);
  native.batchNormInfer(x.data, outer, channels, inner, gamma?.data ?? null, beta?.data ?? null, mean, variance, epsilon, y);
  const result = written(out, y, x);
  if (isRecording()) {
    const frozenMean = mean.slice();
    const invStd = allocate(x.dtype, channels);
    for (let c = 0; c < channels; c++) invStd[c] = 1 / Math.sqrt(variance[c] + epsilon);
    recordBackward('BatchNormInfer', x, layout, gamma, beta, result, { mean: frozenMean, invStd }, false);
  }
  return result;
}

/** Limits of batch renormalization's corrections (absent keys: unbounded). */
export interface RenormClipping {
  /** Upper bound of r (>= 1). */
  rmax?: number;
  /** Lower bound of r (in (0, 1], <= rmax). */
  rmin?: number;
  /** Bound of |d| (>= 0). */
  dmax?: number;
}

/** Result of {@link batchRenormTrainOp}: the training result plus the batch's sqrt(variance + epsilon). */
export interface BatchRenormTrainResult extends BatchNormTrainResult {
  /** Per-channel sqrt(batch variance + epsilon), in float64 (what the renorm stddev moves towards). */
  stddev: Float64Array;
}

/**
 * Batch renormalization (Ioffe 2017) in training mode. With the batch's
 * sigma = sqrt(var + eps) and the renorm statistics (mu_r, sigma_r),
 * r = clip(sigma / sigma_r) and d = clip((mean - mu_r) / sigma_r) are
 * constants for the gradient (stop gradient), and
 *   y = gamma * (xhat * r + d) + beta = xhat * (gamma * r) + (gamma * d + beta).
 * So the fused training forward runs with gamma' = gamma * r and
 * beta' = gamma * d + beta, built with differentiable ops from gamma and
 * beta: the tape's chain rule gives dgamma = r * sum(dy * xhat) + d * sum(dy).
 *
 * The statistics for r and d come from the channel-statistics kernel; the
 * fused forward then derives its own in double for its fold (no kernel
 * takes given statistics at that precision, and one that did could not be
 * bit-identical to this one). The returned mean/variance are the forward's.
 * Preconditions as {@link batchNormTrainOp}.
 * @param x input
 * @param layout the [outer, channels, inner] view
 * @param gamma scale or null
 * @param beta offset or null
 * @param epsilon added to the variance
 * @param renormMean mu_r, `channels` values in x's dtype (read, not changed)
 * @param renormStddev sigma_r, likewise
 * @param clip bounds of r and |d|
 * @param out optional destination of y (see {@link batchNormTrainOp})
 * @returns y, the batch statistics, and the batch's stddev
 * @example
 * const { y, mean, variance, stddev } = batchRenormTrainOp(x, layout, gamma, beta, 1e-3, rm, rs, { rmax: 3, dmax: 5 });
 */
export function batchRenormTrainOp(
  x: Tensor,
  layout: ChannelLayout,
  gamma: Tensor | null,
  beta: Tensor | null,
  epsilon: number,
  renormMean: FloatArray,
  renormStddev: FloatArray,
  clip: Readonly<RenormClipping>,
  out?: Tensor,
): BatchRenormTrainResult {
  const C = layout.channels;
  const mean = allocate(x.dtype, C);
  const variance = allocate(x.dtype, C);
  native.channelStats(x.data, layout.outer, C, layout.inner, mean, variance);
  const r = allocate(x.dtype, C);
  const d = allocate(x.dtype, C);
  const stddev = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    stddev[c] = Math.sqrt(variance[c] + epsilon);
    const sr = Math.max(renormStddev[c], Math.sqrt(epsilon));
    r[c] = clamp(stddev[c] / sr, clip.rmin ?? -Infinity, clip.rmax ?? Infinity);
    d[c] = clamp((mean[c] - renormMean[c]) / sr, -(clip.dmax ?? Infinity), clip.dmax ?? Infinity);
  }
  const shape = gamma?.shape ?? beta?.shape ?? [C];
  const rT = new Tensor(r, shape);
  const dT = new Tensor(d, shape);
  const gammaEff = gamma ? mul(gamma, rT) : rT;
  const betaEff = gamma ? (beta ? add(mul(gamma, dT), beta) : mul(gamma, dT)) : beta ? add(dT, beta) : dT;
  const { y, mean: batchMean, variance: batchVariance, invStd } = batchNormTrainOp(x, layout, gammaEff, betaEff, epsilon, out);
  return { y, mean: batchMean, variance: batchVariance, invStd, stddev };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

/**
 * {@link batchNormTrainOp}'s forward on the libuv thread pool. Not recorded
 * by gradient tapes. gamma and beta are copied at call time, so an optimizer
 * step during the await does not change the result; `x` must not change
 * until the Promise settles.
 * @param x input (preconditions as {@link batchNormTrainOp})
 * @param layout the [outer, channels, inner] view
 * @param gamma scale or null
 * @param beta offset or null
 * @param epsilon added to the variance
 * @returns a Promise of y and the batch statistics
 * @example
 * const { y, mean, variance } = await batchNormTrainAsync(x, layout, gamma, beta, 1e-3);
 */
export async function batchNormTrainAsync(x: Tensor, layout: ChannelLayout, gamma: Tensor | null, beta: Tensor | null, epsilon: number): Promise<BatchNormTrainResult> {
  const { outer, channels, inner } = layout;
  const gd = gamma ? gamma.data.slice() : null;
  const bd = beta ? beta.data.slice() : null;
  const y = allocateUninit(x.dtype, x.size);
  const { mean, variance, invStd } = statsBuffers(x, channels);
  await native.batchNormTrainAsync(x.data, outer, channels, inner, gd, bd, epsilon, y, mean, variance, invStd);
  return { y: new Tensor(y, x.shape), mean, variance, invStd };
}

/**
 * {@link batchNormInferOp}'s forward on the libuv thread pool. Not recorded
 * by gradient tapes. gamma, beta and the statistics are copied at call time
 * (an optimizer step or another call may change them during the await);
 * `x` must not change until the Promise settles.
 * @param x input (preconditions as {@link batchNormInferOp})
 * @param layout the [outer, channels, inner] view
 * @param gamma scale or null
 * @param beta offset or null
 * @param mean per-channel mean to normalize with
 * @param variance per-channel variance to normalize with
 * @param epsilon added to the variance
 * @returns a Promise of y
 * @example
 * const y = await batchNormInferAsync(x, layout, gamma, beta, movingMean, movingVariance, 1e-3);
 */
export async function batchNormInferAsync(x: Tensor, layout: ChannelLayout, gamma: Tensor | null, beta: Tensor | null, mean: FloatArray, variance: FloatArray, epsilon: number): Promise<Tensor> {
  const { outer, channels, inner } = layout;
  const gd = gamma ? gamma.data.slice() : null;
  const bd = beta ? beta.data.slice() : null;
  const y = allocateUninit(x.dtype, x.size);
  await native.batchNormInferAsync(x.data, outer, channels, inner, gd, bd, mean.slice(), variance.slice(), epsilon, y);
  return new Tensor(y, x.shape);
}

/** Fresh per-channel mean, variance and invStd buffers in x's dtype. */
function statsBuffers(x: Tensor, channels: number): BatchNormStatsScratch {
  return { mean: allocate(x.dtype, channels), variance: allocate(x.dtype, channels), invStd: allocate(x.dtype, channels) };
}

/**
 * The op's output: the caller's `out` tensor (written in place, version
 * bumped, so a tape that recorded it earlier refuses stale gradients) or a
 * new tensor around `y`.
 */
function written(out: Tensor | undefined, y: FloatArray, x: Tensor): Tensor {
  if (!out) return new Tensor(y, x.shape);
  out.version++;
  return out;
}

/** What the batch-norm ops record for their gradient (lib/gradients/batch_norm_grad.ts). */
export interface BatchNormAttrs {
  layout: ChannelLayout;
  /** Whether gamma and beta are inputs 1 and 2 (beta is input 1 when there is no gamma). */
  hasGamma: boolean;
  hasBeta: boolean;
  /** Training: the statistics are functions of x, and the gradient flows through them. */
  training: boolean;
  /** Ghost batches: x is this many contiguous slabs of `layout` along its first axis. */
  groups: number;
}

/** The per-channel statistics the batch-norm backward reads (per ghost batch, ghost-major, for ghost batches). */
export interface BatchNormSaved {
  mean: FloatArray;
  invStd: FloatArray;
}

function recordBackward(
  name: string,
  x: Tensor,
  layout: ChannelLayout,
  gamma: Tensor | null,
  beta: Tensor | null,
  y: Tensor,
  saved: BatchNormSaved,
  training: boolean,
  groups = 1,
): void {
  const inputs = [x];
  if (gamma) inputs.push(gamma);
  if (beta) inputs.push(beta);
  const attrs: BatchNormAttrs = { layout, hasGamma: gamma !== null, hasBeta: beta !== null, training, groups };
  recordOp(name, inputs, [y], saved, attrs);
}

/**
 * The native batch-norm backward over one [outer, channels, inner] view,
 * writing into the given buffers (x's dtype; a null one is not computed).
 * dy must already be in x's dtype.
 * @param dy upstream gradient
 * @param x the forward's input
 * @param layout the view
 * @param gamma the forward's gamma or null (1)
 * @param saved the forward's mean and 1 / sqrt(variance + epsilon)
 * @param training gradient through the batch statistics (true) or frozen statistics
 * @param dx receives the input gradient, or null
 * @param dgamma receives sum(dy * xhat) per channel, or null
 * @param dbeta receives sum(dy) per channel, or null
 * @example
 * batchNormBackwardInto(dy, x, layout, gamma, { mean, invStd }, true, dx, dgamma, dbeta);
 */
export function batchNormBackwardInto(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  gamma: FloatArray | null,
  saved: BatchNormSaved,
  training: boolean,
  dx: FloatArray | null,
  dgamma: FloatArray | null,
  dbeta: FloatArray | null,
): void {
  const { outer, channels, inner } = layout;
  native.batchNormBackward(dy, x, outer, channels, inner, gamma, saved.mean, saved.invStd, training, dx, dgamma, dbeta);
}

/** Result of {@link ghostBatchNormTrainOp}: per-ghost-batch statistics, ghost-major ([groups, channels]). */
export interface GhostBatchNormTrainResult {
  y: Tensor;
  mean: FloatArray;
  variance: FloatArray;
}

/**
 * Ghost (virtual) batch normalization: `x` is `groups` contiguous slabs along
 * its first axis, each normalized with its own batch statistics (Keras'
 * `virtual_batch_size`). `slab` is the layout of one slab. One native call per
 * slab on zero-copy subarrays, forward and backward.
 */
export function ghostBatchNormTrainOp(
  x: Tensor,
  slab: ChannelLayout,
  groups: number,
  gamma: Tensor | null,
  beta: Tensor | null,
  epsilon: number,
): GhostBatchNormTrainResult {
  const { outer, channels, inner } = slab;
  const span = outer * channels * inner;
  const y = allocateUninit(x.dtype, x.size);
  const { mean, variance, invStd } = statsBuffers(x, groups * channels);
  const part = (a: FloatArray, g: number, n: number) => a.subarray(g * n, (g + 1) * n);
  for (let g = 0; g < groups; g++) {
    native.batchNormTrain(part(x.data, g, span), outer, channels, inner, gamma?.data ?? null, beta?.data ?? null, epsilon,
      part(y, g, span), part(mean, g, channels), part(variance, g, channels), part(invStd, g, channels));
  }
  const out = new Tensor(y, x.shape);
  recordBackward('GhostBatchNormTrain', x, slab, gamma, beta, out, { mean, invStd }, true, groups);
  return { y: out, mean, variance };
}
