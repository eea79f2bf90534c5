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
  if (recording) recordBackward('BatchNormTrain', x, layout, gamma, beta, result, mean, invStd, true);
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
    recordBackward('BatchNormInfer', x, layout, gamma, beta, result, frozenMean, invStd, false);
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

function recordBackward(
  name: string,
  x: Tensor,
  layout: ChannelLayout,
  gamma: Tensor | null,
  beta: Tensor | null,
  y: Tensor,
  mean: FloatArray,
  invStd: FloatArray,
  training: boolean,
): void {
  const inputs = [x];
  if (gamma) inputs.push(gamma);
  if (beta) inputs.push(beta);
  recordOp(name, inputs, [y], ([dy]) => {
    const { outer, channels, inner } = layout;
    // A gradient arriving in another dtype (mixed-precision graphs) is converted to x's.
    const dyData = asDtype(dy!, x);
    const dx = allocate(x.dtype, x.size);
    const dgamma = gamma ? allocate(x.dtype, channels) : null;
    const dbeta = beta ? allocate(x.dtype, channels) : null;
    native.batchNormBackward(dyData, x.data, outer, channels, inner, gamma?.data ?? null, mean, invStd, training, dx, dgamma, dbeta);
    const grads: (Tensor | null)[] = [new Tensor(dx, x.shape)];
    if (gamma) grads.push(new Tensor(dgamma!, gamma.shape));
    if (beta) grads.push(new Tensor(dbeta!, beta.shape));
    return grads;
  });
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
  const inputs = [x];
  if (gamma) inputs.push(gamma);
  if (beta) inputs.push(beta);
  recordOp('GhostBatchNormTrain', inputs, [out], ([dy]) => {
    const dyData = asDtype(dy!, x);
    const dx = allocate(x.dtype, x.size);
    const dgamma = allocate(x.dtype, channels);
    const dbeta = allocate(x.dtype, channels);
    const dgPart = allocate(x.dtype, channels);
    const dbPart = allocate(x.dtype, channels);
    for (let g = 0; g < groups; g++) {
      native.batchNormBackward(part(dyData, g, span), part(x.data, g, span), outer, channels, inner, gamma?.data ?? null,
        part(mean, g, channels), part(invStd, g, channels), true, part(dx, g, span), dgPart, dbPart);
      for (let c = 0; c < channels; c++) {
        dgamma[c] += dgPart[c];
        dbeta[c] += dbPart[c];
      }
    }
    const grads: (Tensor | null)[] = [new Tensor(dx, x.shape)];
    if (gamma) grads.push(new Tensor(dgamma, gamma.shape));
    if (beta) grads.push(new Tensor(dbeta, beta.shape));
    return grads;
  });
  return { y: out, mean, variance };
}

/** The upstream gradient's data in x's dtype (mixed-precision graphs may deliver another). */
function asDtype(dy: Tensor, x: Tensor): FloatArray {
  if (dy.dtype === x.dtype) return dy.data;
  const converted = allocate(x.dtype, dy.size);
  converted.set(dy.data);
  return converted;
}
