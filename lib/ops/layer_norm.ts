/**
 * Differentiable layer normalization on the batch-norm kernels.
 *
 * Layer normalization takes statistics per row (every position of the kept
 * axes) over the normalized axes. In the kernels' [outer, channels, inner]
 * view that is batch normalization with the kept axes as the channel: when
 * the kept axes are one contiguous run, `x` is read in place (outer and
 * inner are the normalized axes before and after them; for the usual
 * trailing `axis=-1`, outer = 1 and inner = features); otherwise `x` is
 * transposed to [kept..., normalized...] first. One native training forward
 * (gamma/beta null) gives xhat, the row means and 1/sqrt(var + epsilon); the
 * per-feature gamma/beta, which live on the normalized axes and so cannot
 * be passed to a per-channel kernel, are applied here. The backward uses the
 * same native batch-norm backward in training mode on `g = dy * gamma`:
 *
 *   dx = invStd * (g - mean(g) - xhat * mean(g * xhat))      (per row)
 *   dgamma[p] = sum over rows of dy * xhat,  dbeta[p] = sum over rows of dy
 */
import { allocate, type FloatArray } from '../core/dtype.js';
import type { ChannelLayout } from '../core/layout.js';
import { native } from '../native.js';
import { recordOp } from '../autodiff/tape.js';
import { Tensor } from '../core/tensor.js';
import { transposeRaw } from './shape.js';

/** How a tensor is viewed by a row-normalization op. */
export interface RowNormView {
  /** Permutation applied to `x` before the kernels (null: read in place). */
  perm: number[] | null;
  /** The [outer, channels, inner] view of the (permuted) data; rows are the channels. */
  layout: ChannelLayout;
}

/**
 * The view of `shape` for layer normalization over the sorted, distinct
 * `axes`: the kept axes become the channel. Each row has `outer * inner`
 * elements, and the gamma/beta index of element (o, c, i) is `o * inner + i`
 * (the normalized axes in order, row-major), in both the in-place and the
 * transposed case.
 * @param shape input shape
 * @param axes normalized axes (sorted, non-negative, distinct)
 * @returns the permutation (or null) and the layout
 * @example
 * layerNormView([8, 16], [1]);       // { perm: null, layout: { outer: 1, channels: 8, inner: 16 } }
 * layerNormView([2, 3, 4], [0, 2]);  // { perm: null, layout: { outer: 2, channels: 3, inner: 4 } }
 * layerNormView([2, 3, 4, 5], [1, 3]); // perm [0, 2, 1, 3], layout { outer: 1, channels: 8, inner: 15 }
 */
export function layerNormView(shape: readonly number[], axes: readonly number[]): RowNormView {
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const prod = (dims: readonly number[]) => dims.reduce((p, d) => p * shape[d], 1);
  const contiguous = kept.every((d, i) => i === 0 || d === kept[i - 1] + 1);
  if (contiguous) {
    if (kept.length === 0) return { perm: null, layout: { outer: 1, channels: 1, inner: prod(axes) } };
    const first = kept[0];
    const last = kept[kept.length - 1];
    return {
      perm: null,
      layout: {
        outer: prod(axes.filter((d) => d < first)),
        channels: prod(kept),
        inner: prod(axes.filter((d) => d > last)),
      },
    };
  }
  return { perm: [...kept, ...axes], layout: { outer: 1, channels: prod(kept), inner: prod(axes) } };
}

/** Statistics of a row-normalization forward, for its backward. */
export interface RowStats {
  /** Per-row mean. */
  mean: FloatArray;
  /** Per-row 1 / sqrt(biased variance + epsilon). */
  invStd: FloatArray;
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
  const dtype = data instanceof Float32Array ? 'float32' : 'float64';
  const { outer, channels, inner } = layout;
  const xhat = allocate(dtype, data.length);
  const mean = allocate(dtype, channels);
  const variance = allocate(dtype, channels);
  const invStd = allocate(dtype, channels);
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
  const dtype = data instanceof Float32Array ? 'float32' : 'float64';
  const { outer, channels, inner } = layout;
  const dx = allocate(dtype, data.length);
  const rowSum = allocate(dtype, channels);
  native.batchNormBackward(g, data, outer, channels, inner, null, stats.mean, stats.invStd, true, dx, null, rowSum);
  return { dx, rowSum };
}

/**
 * `t`'s data in `like`'s dtype (an upstream gradient may come in another one).
 * @param t tensor to read
 * @param like tensor whose dtype is wanted
 * @returns `t.data` itself or a converted copy
 * @example
 * dataAs(dy, x);
 */
export function dataAs(t: Tensor, like: Tensor): FloatArray {
  if (t.dtype === like.dtype) return t.data;
  const out = allocate(like.dtype, t.size);
  out.set(t.data);
  return out;
}

/**
 * Copies a float64 accumulator into a tensor of `shape` in `like`'s dtype.
 * @param acc accumulated values
 * @param shape result shape
 * @param like tensor whose dtype is wanted
 * @returns the tensor
 * @example
 * toTensorLike(new Float64Array([1, 2]), [2], gamma);
 */
export function toTensorLike(acc: Float64Array, shape: readonly number[], like: Tensor): Tensor {
  const out = allocate(like.dtype, acc.length);
  out.set(acc);
  return new Tensor(out, shape);
}

/**
 * Inverse of a permutation.
 * @param perm a permutation of [0, n)
 * @returns q with q[perm[i]] = i
 * @example
 * inversePerm([0, 2, 1]); // [0, 2, 1]
 */
export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}

/**
 * `data` (in the permuted order `perm` gave, or x's own when null) as a tensor of `shape`.
 * @param data values in the permuted order
 * @param shape the unpermuted shape
 * @param perm the permutation applied, or null
 * @returns the tensor in `shape`'s order
 * @example
 * unpermute(y, x.shape, [0, 2, 1]);
 */
export function unpermute(data: FloatArray, shape: readonly number[], perm: readonly number[] | null): Tensor {
  if (!perm) return new Tensor(data, shape);
  return transposeRaw(new Tensor(data, perm.map((d) => shape[d])), inversePerm(perm));
}

/** Applies gamma/beta (index o * inner + i) to xhat in place; with rmsScaling, y = x * invStd * gamma. */
function layerAffine(
  xhat: FloatArray,
  data: FloatArray,
  layout: ChannelLayout,
  invStd: FloatArray,
  gd: FloatArray | null,
  bd: FloatArray | null,
  rmsScaling: boolean,
): FloatArray {
  const { outer, channels, inner } = layout;
  const y = xhat;
  if (rmsScaling) {
    for (let o = 0; o < outer; o++)
      for (let c = 0; c < channels; c++) {
        const base = (o * channels + c) * inner;
        const s = invStd[c];
        for (let i = 0; i < inner; i++) y[base + i] = data[base + i] * s * (gd ? gd[o * inner + i] : 1);
      }
  } else if (gd || bd) {
    for (let o = 0; o < outer; o++)
      for (let c = 0; c < channels; c++) {
        const base = (o * channels + c) * inner;
        const p0 = o * inner;
        for (let i = 0; i < inner; i++) y[base + i] = y[base + i] * (gd ? gd[p0 + i] : 1) + (bd ? bd[p0 + i] : 0);
      }
  }
  return y;
}

/**
 * Differentiable layer normalization of `x` over `axes`:
 * `y = (x - mean) / sqrt(var + epsilon) * gamma + beta`, statistics per
 * position of the other axes, biased variance. With `rmsScaling` (Keras 3's
 * deprecated `rms_scaling`): `y = x / sqrt(var + epsilon) * gamma` with the
 * same mean-centered variance and no beta.
 *
 * Arguments are validated by the caller (the layer): `axes` sorted and
 * distinct; gamma/beta of the shape of the normalized axes (in order) and
 * `x`'s dtype, or null; every normalized axis non-empty; epsilon > 0.
 *
 * The rmsScaling gradient adds the term from `x` not being centered: with
 * r = invStd, m the row mean and n the row length,
 * dx = r * (g - xhat * (mean(g * xhat) + r * m * mean(g))) — the batch-norm
 * backward plus r * mean(g) * (1 - r * m * xhat).
 *
 * @param x input
 * @param axes normalized axes (sorted, non-negative)
 * @param gamma scale or null
 * @param beta offset or null
 * @param epsilon added to the variance
 * @param rmsScaling Keras 3's rms_scaling formula
 * @returns the normalized tensor, recorded on active tapes (inputs x, gamma, beta)
 * @example
 * const y = layerNormOp(x, [1], gamma.read(), beta.read(), 1e-3);
 */
export function layerNormOp(
  x: Tensor,
  axes: readonly number[],
  gamma: Tensor | null,
  beta: Tensor | null,
  epsilon: number,
  rmsScaling = false,
): Tensor {
  const { perm, layout } = layerNormView(x.shape, axes);
  const { outer, channels, inner } = layout;
  const inputs = [x];
  if (gamma) inputs.push(gamma);
  if (beta) inputs.push(beta);
  if (x.size === 0) {
    // No rows: nothing to normalize; gradients are zeros of the inputs' shapes.
    const out = new Tensor(allocate(x.dtype, 0), x.shape);
    recordOp('LayerNorm', inputs, [out], () => inputs.map((t) => new Tensor(allocate(t.dtype, t.size), t.shape)));
    return out;
  }
  const data = perm ? transposeRaw(x, perm).data : x.data;
  const { xhat, ...stats } = normalizeRows(data, layout, epsilon);
  const { mean, invStd } = stats;
  const gd = gamma?.data;
  const bd = beta?.data;
  const out = unpermute(layerAffine(xhat, data, layout, invStd, gd ?? null, bd ?? null, rmsScaling), x.shape, perm);

  recordOp('LayerNorm', inputs, [out], ([dy]) => {
    const dyData = perm ? transposeRaw(new Tensor(dataAs(dy!, x), x.shape), perm).data : dataAs(dy!, x);
    const pSize = outer * inner;
    const dgamma = gamma ? new Float64Array(pSize) : null;
    const dbeta = beta ? new Float64Array(pSize) : null;
    const g = gd ? allocate(x.dtype, x.size) : dyData;
    for (let o = 0; o < outer; o++)
      for (let c = 0; c < channels; c++) {
        const base = (o * channels + c) * inner;
        const p0 = o * inner;
        const m = rmsScaling ? 0 : mean[c];
        const s = invStd[c];
        for (let i = 0; i < inner; i++) {
          const k = base + i;
          const d = dyData[k];
          // With rmsScaling the output is x * s * gamma, so gamma's factor is x * s.
          if (dgamma) dgamma[p0 + i] += d * (data[k] - m) * s;
          if (dbeta) dbeta[p0 + i] += d;
          if (gd) g[k] = d * gd[p0 + i];
        }
      }
    const { dx, rowSum } = normalizeRowsBackward(g, data, layout, stats);
    if (rmsScaling) {
      const n = outer * inner;
      for (let o = 0; o < outer; o++)
        for (let c = 0; c < channels; c++) {
          const base = (o * channels + c) * inner;
          const s = invStd[c];
          const m = mean[c];
          const a = (s * rowSum[c]) / n;
          for (let i = 0; i < inner; i++) dx[base + i] += a * (1 - s * s * m * (data[base + i] - m));
        }
    }
    const grads: (Tensor | null)[] = [unpermute(dx, x.shape, perm)];
    if (gamma) grads.push(toTensorLike(dgamma!, gamma.shape, gamma));
    if (beta) grads.push(toTensorLike(dbeta!, beta.shape, beta));
    return grads;
  });
  return out;
}

/**
 * The forward of {@link layerNormOp} with the statistics and normalization
 * on the libuv thread pool (`batchNormTrainAsync`); gamma/beta are applied
 * after it. Not recorded by gradient tapes. gamma/beta are copied at call
 * time, so an optimizer step during the await does not change the result.
 * @param x input (the same preconditions as {@link layerNormOp})
 * @param axes normalized axes (sorted, non-negative)
 * @param gamma scale or null
 * @param beta offset or null
 * @param epsilon added to the variance
 * @param rmsScaling Keras 3's rms_scaling formula
 * @returns a Promise of the normalized tensor
 * @example
 * const y = await layerNormAsync(x, [1], gamma.read(), beta.read(), 1e-3);
 */
export async function layerNormAsync(
  x: Tensor,
  axes: readonly number[],
  gamma: Tensor | null,
  beta: Tensor | null,
  epsilon: number,
  rmsScaling = false,
): Promise<Tensor> {
  const { perm, layout } = layerNormView(x.shape, axes);
  if (x.size === 0) return new Tensor(allocate(x.dtype, 0), x.shape);
  const gd = gamma ? gamma.data.slice() : null;
  const bd = beta ? beta.data.slice() : null;
  // A copy either way: the caller may write into x while the kernel runs.
  const data = perm ? transposeRaw(x, perm).data : x.data.slice();
  const { channels } = layout;
  const xhat = allocate(x.dtype, data.length);
  const mean = allocate(x.dtype, channels);
  const variance = allocate(x.dtype, channels);
  const invStd = allocate(x.dtype, channels);
  await native.batchNormTrainAsync(data, layout.outer, channels, layout.inner, null, null, epsilon, xhat, mean, variance, invStd);
  return unpermute(layerAffine(xhat, data, layout, invStd, gd, bd, rmsScaling), x.shape, perm);
}
