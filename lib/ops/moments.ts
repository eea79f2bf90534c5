/**
 * The tutorial's statistics: `normalize` (its first function) and `moments`
 * (`tf.nn.moments`), whose per-channel reductions run in the native
 * channel-statistics kernel.
 */
import { allocate } from '../core/dtype.js';
import { rangeError, typeError } from '../core/errors.js';
import { native } from '../native.js';
import { broadcastShapes } from './broadcast.js';
import { div, sub } from './elementwise.js';
import { transposeRaw } from './shape.js';
import { recordOp } from '../autodiff/tape.js';
import { shapeText, Tensor, toTensor, type TensorLike } from '../core/tensor.js';
import { reductionAxes } from '../core/validate.js';

/**
 * `(x - mean) / std` with NumPy broadcasting: the tutorial's first function.
 * Differentiable with respect to all three arguments.
 *
 * @param x data (tensor, variable, number or nested array)
 * @param mean a tensor-like that broadcasts against `x` (e.g. per-channel means, or a number)
 * @param std a tensor-like that broadcasts against `x`
 * @returns the standardized tensor, in the promoted dtype of the arguments
 * @throws {TypeError}  when an argument is not tensor-like
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when the shapes do not broadcast
 * @example
 * const { mean, variance } = nk.moments(x, [0, 1, 2], { keepDims: true });
 * const z = nk.normalize(x, mean, nk.sqrt(variance));
 */
export function normalize(x: TensorLike, mean: TensorLike, std: TensorLike): Tensor {
  const api = 'normalize';
  const xt = toTensor(x, api, 'x');
  // Numbers and plain arrays take the dtype of x, as in the element-wise ops.
  const m = toTensor(mean, api, 'mean', xt.dtype);
  const s = toTensor(std, api, 'std', xt.dtype);
  broadcastShapes(broadcastShapes(xt.shape, m.shape, api), s.shape, api);
  return div(sub(xt, m), s);
}

/** Options of {@link moments}. */
export interface MomentsOptions {
  /** Keep the reduced axes as size 1, so the results broadcast against `x` (default false). */
  keepDims?: boolean;
}

/** What {@link moments} records for its gradient (lib/gradients/moments_grad.ts). */
export interface MomentsAttrs {
  /** The input's shape with the reduced axes set to 1. */
  keptShape: number[];
  /** Elements reduced into each statistic. */
  count: number;
}

/** Result of {@link moments}. */
export interface Moments {
  /** Mean over the reduced axes. */
  mean: Tensor;
  /** Biased variance over the reduced axes (divided by n, as `tf.nn.moments`). */
  variance: Tensor;
}

/**
 * Mean and biased variance of `x` over `axes`, as `tf.nn.moments`.
 *
 * The axes that are not reduced form the channel. When they are adjacent,
 * `x` is read in place as [outer, channels, inner] (outer: the dimensions
 * before them, inner: the ones after) by the native kernel, which is exact
 * to float rounding even for data far from zero (mean 1e4, std 1). When they
 * are not adjacent, `x` is first transposed so that they are.
 *
 * Differentiable: d mean / dx = 1/n and d variance / dx = 2 (x - mean) / n,
 * with n the number of reduced elements per channel.
 *
 * @param x data (float32 or float64)
 * @param axes the axes to reduce (negatives from the end); every axis when undefined
 * @param options `{ keepDims }`
 * @returns `{ mean, variance }` in the dtype of `x`
 * @throws {TypeError}  when `x` is not tensor-like, `axes` is not integer(s), or keepDims not a boolean
 * @throws {RangeError} when an axis is out of range or repeated, or the reduced axes hold no element
 * @example
 * const x = nk.randomNormal([2, 4, 4, 3], { mean: 1, stddev: 0.5, seed: 42 });
 * const { mean, variance } = nk.moments(x, [0, 1, 2]); // per-channel, shape [3]
 */
export function moments(x: TensorLike, axes?: number | readonly number[], options: MomentsOptions = {}): Moments {
  const api = 'moments';
  const t = toTensor(x, api, 'x');
  const reduced = reductionAxes(api, 'axes', axes, t.rank);
  if (typeof options !== 'object' || options === null) throw typeError(api, 'options as { keepDims?: boolean }', options);
  const keepDims = options.keepDims ?? false;
  if (typeof keepDims !== 'boolean') throw typeError(api, 'options.keepDims as a boolean', keepDims);

  const keptAxes = t.shape.map((_, i) => i).filter((i) => !reduced.includes(i));
  const keptShape = t.shape.map((d, i) => (reduced.includes(i) ? 1 : d));
  const channels = keptAxes.reduce((p, a) => p * t.shape[a], 1);
  const count = reduced.reduce((p, a) => p * t.shape[a], 1);
  if (count === 0 && channels > 0) {
    throw rangeError(api, 'reduced axes with at least one element', `shape ${shapeText(t.shape)} reduced over [${reduced.join(',')}]`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
  }

  const meanData = allocate(t.dtype, channels);
  const varianceData = allocate(t.dtype, channels);
  if (channels > 0) {
    const adjacent = keptAxes.every((a, i) => i === 0 || a === keptAxes[i - 1] + 1);
    // Non-adjacent channel axes: move every reduced axis in front, so the
    // channel is the (row-major, original-order) tail and inner = 1.
    const source = adjacent ? t.data : transposeRaw(t, [...reduced, ...keptAxes]).data;
    let outer = 1;
    let inner = 1;
    if (adjacent && keptAxes.length > 0) {
      for (let d = 0; d < keptAxes[0]; d++) outer *= t.shape[d];
      for (let d = keptAxes[keptAxes.length - 1] + 1; d < t.rank; d++) inner *= t.shape[d];
    } else {
      outer = count;
    }
    native.channelStats(source, outer, channels, inner, meanData, varianceData);
  }

  const outShape = keepDims ? keptShape : keptAxes.map((a) => t.shape[a]);
  const mean = new Tensor(meanData, outShape);
  const variance = new Tensor(varianceData, outShape);
  recordOp('Moments', [t], [mean, variance], null, { keptShape, count } satisfies MomentsAttrs);
  return { mean, variance };
}
