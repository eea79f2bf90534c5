/**
 * Differentiable layer normalization on the batch-norm kernels.
 *
 * Layer normalization takes statistics per row (every position of the kept
 * axes) over the normalized axes. In the kernels' [outer, channels, inner]
 * view that is batch normalization with the kept axes as the channel: when
 * the kept axes are one contiguous run, `x` is read in place (outer and
 * inner are the normalized axes before and after them; for the usual
 * trailing `axis=-1`, outer = 1 and inner = features); otherwise `x` is
 * transposed to [kept..., normalized...] first. Row normalization
 * (./row_norm.ts) gives xhat, the row means and 1/sqrt(var + epsilon); the
 * per-feature gamma/beta, which live on the normalized axes and so cannot
 * be passed to a per-channel kernel, are applied here. The backward
 * (lib/gradients/layer_norm_grad.ts) runs the row-normalization backward on
 * `g = dy * gamma`:
 *
 *   dx = invStd * (g - mean(g) - xhat * mean(g * xhat))      (per row)
 *   dgamma[p] = sum over rows of dy * xhat,  dbeta[p] = sum over rows of dy
 */
import { allocate, type FloatArray } from '../core/dtype.js';
import type { ChannelLayout } from '../core/layout.js';
import { recordOp } from '../autodiff/tape.js';
import { Tensor } from '../core/tensor.js';
import { normalizeRows, normalizeRowsAsync, type RowStats } from './row_norm.js';
import { transposeRaw, unpermute } from './shape.js';

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

/** What the row-normalization ops save for their gradient: the input in the view's order and its statistics. */
export interface RowNormSaved extends RowStats {
  data: FloatArray;
}

/** What {@link layerNormOp} records for its gradient (lib/gradients/layer_norm_grad.ts). */
export interface LayerNormAttrs extends RowNormView {
  rmsScaling: boolean;
  /** Whether gamma and beta are inputs 1 and 2 (beta is input 1 when there is no gamma). */
  hasGamma: boolean;
  hasBeta: boolean;
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
  const inputs = [x];
  if (gamma) inputs.push(gamma);
  if (beta) inputs.push(beta);
  const attrs: LayerNormAttrs = { layout, perm, rmsScaling, hasGamma: gamma !== null, hasBeta: beta !== null };
  if (x.size === 0) {
    // No rows: nothing to normalize; gradients are zeros of the inputs' shapes.
    const out = new Tensor(allocate(x.dtype, 0), x.shape);
    recordOp('LayerNorm', inputs, [out], null, attrs);
    return out;
  }
  const data = perm ? transposeRaw(x, perm).data : x.data;
  const { xhat, mean, invStd } = normalizeRows(data, layout, epsilon);
  const out = unpermute(layerAffine(xhat, data, layout, invStd, gamma?.data ?? null, beta?.data ?? null, rmsScaling), x.shape, perm);
  recordOp('LayerNorm', inputs, [out], { data, mean, invStd } satisfies RowNormSaved, attrs);
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
export async function layerNormAsync(x: Tensor, axes: readonly number[], gamma: Tensor | null, beta: Tensor | null, epsilon: number, rmsScaling = false): Promise<Tensor> {
  const { perm, layout } = layerNormView(x.shape, axes);
  if (x.size === 0) return new Tensor(allocate(x.dtype, 0), x.shape);
  const gd = gamma ? gamma.data.slice() : null;
  const bd = beta ? beta.data.slice() : null;
  // A copy either way: the caller may write into x while the kernel runs.
  const data = perm ? transposeRaw(x, perm).data : x.data.slice();
  const { xhat, invStd } = await normalizeRowsAsync(data, layout, epsilon);
  return unpermute(layerAffine(xhat, data, layout, invStd, gd, bd, rmsScaling), x.shape, perm);
}
