/**
 * Float64 references for the layer-statistics layers, written by plain
 * index arithmetic (no views, no kernels): every element's multi-index is
 * decoded, and its row (the positions that share statistics) and parameter
 * index are computed from it. Two-pass mean and variance.
 */
import { rowMajorStrides as strides } from '../../lib/core/layout.js';


/** The flat index over `dims` (a subset of axes, in order) of the element at flat index `k`. */
function subIndex(k: number, shape: readonly number[], st: readonly number[], dims: readonly number[]): number {
  let idx = 0;
  for (const d of dims) idx = idx * shape[d] + (Math.floor(k / st[d]) % shape[d]);
  return idx;
}

/** Per-group two-pass mean and biased variance, with `groupOf(k)` the group of element k. */
function groupStats(x: ArrayLike<number>, groups: number, groupOf: (k: number) => number): { mean: Float64Array; variance: Float64Array; count: Float64Array } {
  const mean = new Float64Array(groups);
  const variance = new Float64Array(groups);
  const count = new Float64Array(groups);
  for (let k = 0; k < x.length; k++) {
    mean[groupOf(k)] += x[k];
    count[groupOf(k)]++;
  }
  for (let g = 0; g < groups; g++) mean[g] /= count[g];
  for (let k = 0; k < x.length; k++) {
    const d = x[k] - mean[groupOf(k)];
    variance[groupOf(k)] += d * d;
  }
  for (let g = 0; g < groups; g++) variance[g] /= count[g];
  return { mean, variance, count };
}

/**
 * Keras 3 LayerNormalization in float64: statistics per position of the
 * axes not in `axes`, gamma/beta indexed by the normalized axes (sorted).
 * With `rmsScaling`: x / sqrt(var + eps) * gamma (Keras 3's rms_scaling).
 */
export function refLayerNorm(
  x: ArrayLike<number>,
  shape: readonly number[],
  axes: readonly number[],
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  epsilon: number,
  rmsScaling = false,
): Float64Array {
  const st = strides(shape);
  const sorted = axes.map((a) => (a < 0 ? a + shape.length : a)).sort((a, b) => a - b);
  const kept = shape.map((_, d) => d).filter((d) => !sorted.includes(d));
  const rows = kept.reduce((p, d) => p * shape[d], 1);
  const rowOf = (k: number) => subIndex(k, shape, st, kept);
  const { mean, variance } = groupStats(x, rows, rowOf);
  const y = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) {
    const r = rowOf(k);
    const p = subIndex(k, shape, st, sorted);
    const inv = 1 / Math.sqrt(variance[r] + epsilon);
    const g = gamma ? gamma[p] : 1;
    y[k] = rmsScaling ? x[k] * inv * g : (x[k] - mean[r]) * inv * g + (beta ? beta[p] : 0);
  }
  return y;
}

/**
 * Keras 3 GroupNormalization in float64: statistics per (sample on axis 0,
 * group of C/groups adjacent channels on `axis`), per-channel gamma/beta.
 */
export function refGroupNorm(
  x: ArrayLike<number>,
  shape: readonly number[],
  axis: number,
  groups: number,
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  epsilon: number,
): Float64Array {
  const st = strides(shape);
  const ax = axis < 0 ? axis + shape.length : axis;
  const channels = shape[ax];
  const perGroup = channels / groups;
  const channelOf = (k: number) => Math.floor(k / st[ax]) % channels;
  const groupOf = (k: number) => Math.floor(k / st[0]) * groups + Math.floor(channelOf(k) / perGroup);
  const { mean, variance } = groupStats(x, shape[0] * groups, groupOf);
  const y = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) {
    const g = groupOf(k);
    const c = channelOf(k);
    y[k] = ((x[k] - mean[g]) / Math.sqrt(variance[g] + epsilon)) * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
  }
  return y;
}

/** Float64 mean and biased variance per index of the kept axes (sorted), over every other axis. */
export function refMoments(x: ArrayLike<number>, shape: readonly number[], keep: readonly number[]): { mean: Float64Array; variance: Float64Array } {
  const st = strides(shape);
  const sorted = keep.map((a) => (a < 0 ? a + shape.length : a)).sort((a, b) => a - b);
  const size = sorted.reduce((p, d) => p * shape[d], 1);
  const { mean, variance } = groupStats(x, size, (k) => subIndex(k, shape, st, sorted));
  return { mean, variance };
}
