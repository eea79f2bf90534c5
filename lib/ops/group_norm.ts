/**
 * Differentiable group normalization on the batch-norm kernels.
 *
 * With the channel axis moved next to the batch axis (no copy for
 * channels-first; one transpose for channels-last), `x` is [N, C, S] with S
 * the product of the other axes, and each (sample, group) pair is one
 * contiguous row of (C / groups) * S elements: the kernels' view
 * [outer = 1, channels = N * groups, inner = (C / groups) * S]. Row
 * normalization (./row_norm.ts) gives xhat and the row statistics; the
 * per-channel gamma/beta are applied here, and the backward
 * (lib/gradients/group_norm_grad.ts) runs the row-normalization backward on
 * `g = dy * gamma` as in layer normalization.
 */
import { allocate, type FloatArray } from '../core/dtype.js';
import type { ChannelLayout } from '../core/layout.js';
import { recordOp } from '../autodiff/tape.js';
import { Tensor } from '../core/tensor.js';
import type { RowNormSaved } from './layer_norm.js';
import { normalizeRows, normalizeRowsAsync } from './row_norm.js';
import { transposeRaw, unpermute } from './shape.js';

/** [0, axis, the other axes in order], or null when the channel axis is already 1. */
function groupPerm(rank: number, axis: number): number[] | null {
  if (axis === 1) return null;
  return [0, axis, ...Array.from({ length: rank }, (_, d) => d).filter((d) => d !== 0 && d !== axis)];
}

/** What {@link groupNormOp} records for its gradient. */
export interface GroupNormAttrs {
  /** The row view: outer 1, channels N * groups, inner (C / groups) * S. */
  layout: ChannelLayout;
  /** The permutation to [N, C, ...] (null: x read in place). */
  perm: number[] | null;
  groups: number;
  /** Channels per group, and S (the product of the axes other than batch and channel). */
  perGroup: number;
  spatial: number;
  hasGamma: boolean;
  hasBeta: boolean;
}

/** Applies per-channel gamma/beta in place to rows of [perGroup, spatial] blocks (row r holds group r % groups). */
function groupAffine(y: FloatArray, groups: number, perGroup: number, spatial: number, gd: FloatArray | null, bd: FloatArray | null): FloatArray {
  if (!gd && !bd) return y;
  const rowLength = perGroup * spatial;
  const rows = y.length / rowLength;
  for (let r = 0; r < rows; r++) {
    const c0 = (r % groups) * perGroup;
    for (let cg = 0; cg < perGroup; cg++) {
      const c = c0 + cg;
      const scale = gd ? gd[c] : 1;
      const shift = bd ? bd[c] : 0;
      const base = r * rowLength + cg * spatial;
      for (let s = 0; s < spatial; s++) y[base + s] = y[base + s] * scale + shift;
    }
  }
  return y;
}

/**
 * Differentiable group normalization:
 * `y = (x - mean) / sqrt(var + epsilon) * gamma[c] + beta[c]`, statistics per
 * sample (axis 0) and group of `C / groups` adjacent channels on `axis`, over
 * those channels and every other axis; biased variance.
 *
 * Arguments are validated by the caller (the layer): rank >= 2, `axis` in
 * [1, rank), `groups` divides the channels, gamma/beta of shape [C] in `x`'s
 * dtype or null, every non-batch dimension non-empty, epsilon > 0.
 *
 * @param x input
 * @param axis channel axis (non-negative, not 0)
 * @param groups number of groups
 * @param gamma per-channel scale or null
 * @param beta per-channel offset or null
 * @param epsilon added to the variance
 * @returns the normalized tensor, recorded on active tapes (inputs x, gamma, beta)
 * @example
 * const y = groupNormOp(x, 3, 4, gamma.read(), beta.read(), 1e-3); // x: [N, H, W, 16]
 */
export function groupNormOp(x: Tensor, axis: number, groups: number, gamma: Tensor | null, beta: Tensor | null, epsilon: number): Tensor {
  const shape = x.shape;
  const n = shape[0];
  const channels = shape[axis];
  const perGroup = channels / groups;
  const spatial = shape.reduce((p, d, i) => (i === 0 || i === axis ? p : p * d), 1);
  const perm = groupPerm(shape.length, axis);
  const inputs = [x];
  if (gamma) inputs.push(gamma);
  if (beta) inputs.push(beta);
  const layout = { outer: 1, channels: n * groups, inner: perGroup * spatial };
  const attrs: GroupNormAttrs = { layout, perm, groups, perGroup, spatial, hasGamma: gamma !== null, hasBeta: beta !== null };
  if (x.size === 0) {
    const out = new Tensor(allocate(x.dtype, 0), shape);
    recordOp('GroupNorm', inputs, [out], null, attrs);
    return out;
  }
  const data = perm ? transposeRaw(x, perm).data : x.data;
  const { xhat, mean, invStd } = normalizeRows(data, layout, epsilon);
  const out = unpermute(groupAffine(xhat, groups, perGroup, spatial, gamma?.data ?? null, beta?.data ?? null), shape, perm);
  recordOp('GroupNorm', inputs, [out], { data, mean, invStd } satisfies RowNormSaved, attrs);
  return out;
}

/**
 * The forward of {@link groupNormOp} with the statistics and normalization
 * on the libuv thread pool; gamma/beta (copied at call time) are applied
 * after it. Not recorded by gradient tapes.
 * @param x input (the same preconditions as {@link groupNormOp})
 * @param axis channel axis (non-negative, not 0)
 * @param groups number of groups
 * @param gamma per-channel scale or null
 * @param beta per-channel offset or null
 * @param epsilon added to the variance
 * @returns a Promise of the normalized tensor
 * @example
 * const y = await groupNormAsync(x, 3, 4, gamma.read(), beta.read(), 1e-3);
 */
export async function groupNormAsync(x: Tensor, axis: number, groups: number, gamma: Tensor | null, beta: Tensor | null, epsilon: number): Promise<Tensor> {
  const shape = x.shape;
  if (x.size === 0) return new Tensor(allocate(x.dtype, 0), shape);
  const perGroup = shape[axis] / groups;
  const spatial = shape.reduce((p, d, i) => (i === 0 || i === axis ? p : p * d), 1);
  const perm = groupPerm(shape.length, axis);
  const gd = gamma ? gamma.data.slice() : null;
  const bd = beta ? beta.data.slice() : null;
  const data = perm ? transposeRaw(x, perm).data : x.data.slice();
  const { xhat } = await normalizeRowsAsync(data, { outer: 1, channels: shape[0] * groups, inner: perGroup * spatial }, epsilon);
  return unpermute(groupAffine(xhat, groups, perGroup, spatial, gd, bd), shape, perm);
}
