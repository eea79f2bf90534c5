/**
 * Row normalization on the batch-norm kernels, shared by layer and group
 * normalization: a contiguous buffer viewed as [outer, channels, inner] whose
 * channels are the rows to normalize. The native training forward without
 * gamma/beta gives xhat and the per-row statistics; the native backward in
 * training mode gives dx through those statistics and the per-row sums.
 */
import { allocate, dtypeOf, type FloatArray } from '../core/dtype.js';
import type { ChannelLayout } from '../core/layout.js';
import { native } from '../native.js';

/** Statistics of a row-normalization forward, for its backward. */
export interface RowStats {
  /** Per-row mean. */
  mean: FloatArray;
  /** Per-row 1 / sqrt(biased variance + epsilon). */
  invStd: FloatArray;
}

/** Fresh xhat and per-row statistics buffers in `data`'s dtype. */
function forwardBuffers(data: FloatArray, rows: number): { xhat: FloatArray; mean: FloatArray; variance: FloatArray; invStd: FloatArray } {
  const dtype = dtypeOf(data)!;
  return { xhat: allocate(dtype, data.length), mean: allocate(dtype, rows), variance: allocate(dtype, rows), invStd: allocate(dtype, rows) };
}

/**
 * Native training forward without gamma/beta: xhat and the per-channel (per
 * row) statistics of `data` viewed as `layout` (every dimension >= 1).
 * @param data contiguous input in the view's order
 * @param layout the [outer, channels, inner] view
 * @param epsilon finite and > 0
 * @returns xhat (same dtype as `data`) and the statistics
 * @example
 * const { xhat, mean, invStd } = normalizeRows(new Float64Array([1, 2, 3, 4]), { outer: 1, channels: 2, inner: 2 }, 1e-3);
 */
export function normalizeRows(data: FloatArray, layout: ChannelLayout, epsilon: number): RowStats & { xhat: FloatArray } {
  const { outer, channels, inner } = layout;
  const { xhat, mean, variance, invStd } = forwardBuffers(data, channels);
  native.batchNormTrain(data, outer, channels, inner, null, null, epsilon, xhat, mean, variance, invStd);
  return { xhat, mean, invStd };
}

/**
 * Native backward through the statistics (training mode, gamma folded into
 * `g` by the caller): dx of the normalization, and the per-row sums of `g`.
 * @param g upstream gradient already multiplied by gamma, in the view's order
 * @param data the forward's input, in the view's order
 * @param layout the view
 * @param stats the forward's statistics
 * @returns dx and the per-row sums of g
 * @example
 * const { dx } = normalizeRowsBackward(g, data, layout, stats);
 */
export function normalizeRowsBackward(g: FloatArray, data: FloatArray, layout: ChannelLayout, stats: RowStats): { dx: FloatArray; rowSum: FloatArray } {
  const dtype = dtypeOf(data)!;
  const { outer, channels, inner } = layout;
  const dx = allocate(dtype, data.length);
  const rowSum = allocate(dtype, channels);
  native.batchNormBackward(g, data, outer, channels, inner, null, stats.mean, stats.invStd, true, dx, null, rowSum);
  return { dx, rowSum };
}

/**
 * {@link normalizeRows} on the libuv thread pool (`batchNormTrainAsync`).
 * `data` must not change until the Promise settles (callers pass a copy).
 * @param data contiguous input in the view's order
 * @param layout the [outer, channels, inner] view
 * @param epsilon finite and > 0
 * @returns a Promise of xhat and the statistics
 * @example
 * const { xhat, invStd } = await normalizeRowsAsync(x.data.slice(), layout, 1e-3);
 */
export async function normalizeRowsAsync(data: FloatArray, layout: ChannelLayout, epsilon: number): Promise<RowStats & { xhat: FloatArray }> {
  const { outer, channels, inner } = layout;
  const { xhat, mean, variance, invStd } = forwardBuffers(data, channels);
  await native.batchNormTrainAsync(data, outer, channels, inner, null, null, epsilon, xhat, mean, variance, invStd);
  return { xhat, mean, invStd };
}
