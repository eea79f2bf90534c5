import { allocate, type FloatArray } from '../core/dtype.js';
import type { ChannelLayout } from '../core/layout.js';
import { native } from '../native.js';
import { isRecording, recordOp } from '../autodiff/tape.js';
import { Tensor } from '../core/tensor.js';

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
 * the caller (the layer or `nk.kernels`): same dtype, `gamma`/`beta` of
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
  const y = out ? out.data : allocate(x.dtype, x.size);
  let mean: FloatArray, variance: FloatArray, invStd: FloatArray;
  if (scratch !== undefined && !recording) {
    ({ mean, variance, invStd } = scratch);
  } else {
    mean = allocate(x.dtype, channels);
    variance = allocate(x.dtype, channels);
    invStd = allocate(x.dtype, channels);
  }
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
  const y = out ? out.data : allocate(x.dtype, x.size);
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
  const y = allocate(x.dtype, x.size);
  const mean = allocate(x.dtype, groups * channels);
  const variance = allocate(x.dtype, groups * channels);
  const invStd = allocate(x.dtype, groups * channels);
  const part = (a: FloatArray, g: number, n: number) => a.subarray(g * n, (g + 1) * n);
  for (let g = 0; g < groups; g++) {
    native.batchNormTrain(part(x.data, g, span), outer, channels, inner, gamma?.data ?? null, beta?.data ?? null, epsilon,
      part(y, g, span), part(mean, g, channels), part(variance, g, channels), part(invStd, g, channels));
  }
  const out = new Tensor(y, x.shape);
  recordBackward('GhostBatchNormTrain', x, slab, gamma, beta, out, { mean, invStd }, true, groups);
  return { y: out, mean, variance };
}
