/**
 * Float64 reference of the three ops over the [outer, channels, inner]
 * view, and the comparison the correctness gate applies to every
 * implementation before timing it. Two passes in float64: exact enough that
 * its own error is far below anything the gate or the accuracy report looks at.
 */
import type { BenchShape, CaseData, Op, Outputs } from './types.js';

export interface Stats64 {
  mean: Float64Array;
  variance: Float64Array;
}

/** Per-channel mean and biased variance, two passes in float64. */
export function channelStats64(x: ArrayLike<number>, s: BenchShape): Stats64 {
  const { outer, channels: C, inner } = s;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const m = outer * inner;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const base = (o * C + c) * inner;
      let acc = 0;
      for (let i = 0; i < inner; i++) acc += x[base + i];
      mean[c] += acc;
    }
  }
  for (let c = 0; c < C; c++) mean[c] /= m;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const base = (o * C + c) * inner;
      const mu = mean[c];
      let acc = 0;
      for (let i = 0; i < inner; i++) {
        const d = x[base + i] - mu;
        acc += d * d;
      }
      variance[c] += acc;
    }
  }
  for (let c = 0; c < C; c++) variance[c] /= m;
  return { mean, variance };
}

/** Reference outputs of `op` (float64 numbers in Float64Arrays). */
export interface Reference {
  y?: Float64Array;
  mean?: Float64Array;
  variance?: Float64Array;
  dx?: Float64Array;
  dgamma?: Float64Array;
  dbeta?: Float64Array;
}

export function reference(op: Op, d: CaseData): Reference {
  const s = d.shape;
  const { outer, channels: C, inner } = s;
  if (op === 'infer') {
    const y = new Float64Array(s.size);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < C; c++) {
        const invStd = 1 / Math.sqrt(d.movingVariance[c] + d.epsilon);
        const base = (o * C + c) * inner;
        for (let i = 0; i < inner; i++) y[base + i] = (d.x[base + i] - d.movingMean[c]) * invStd * d.gamma[c] + d.beta[c];
      }
    }
    return { y };
  }
  const { mean, variance } = channelStats64(d.x, s);
  const invStd = variance.map((v) => 1 / Math.sqrt(v + d.epsilon));
  if (op === 'train') {
    const y = new Float64Array(s.size);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < C; c++) {
        const base = (o * C + c) * inner;
        for (let i = 0; i < inner; i++) y[base + i] = (d.x[base + i] - mean[c]) * invStd[c] * d.gamma[c] + d.beta[c];
      }
    }
    return { y, mean, variance };
  }
  // Backward through the batch statistics:
  // dx = gamma * invStd * (dy - mean(dy) - xhat * mean(dy * xhat)).
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const base = (o * C + c) * inner;
      for (let i = 0; i < inner; i++) {
        const g = d.dy[base + i];
        dbeta[c] += g;
        dgamma[c] += g * (d.x[base + i] - mean[c]) * invStd[c];
      }
    }
  }
  const m = outer * inner;
  const dx = new Float64Array(s.size);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const base = (o * C + c) * inner;
      const k = d.gamma[c] * invStd[c];
      for (let i = 0; i < inner; i++) {
        const xhat = (d.x[base + i] - mean[c]) * invStd[c];
        dx[base + i] = k * (d.dy[base + i] - dbeta[c] / m - (xhat * dgamma[c]) / m);
      }
    }
  }
  return { dx, dgamma, dbeta };
}

/** Result of the correctness gate for one implementation of one case. */
export interface GateResult {
  ok: boolean;
  /** Largest error over all compared outputs, relative to that output's largest reference magnitude. */
  maxRelError: number;
  /** Which output was worst, e.g. `y`. */
  worst: string;
  /** Outputs the implementation does not expose (not checked). */
  unchecked: string[];
}

/**
 * Normalized max error: max|out - ref| / max|ref| per output. Float32
 * batch norm lands near 1e-6; a layout or channel mix-up lands near 1.
 */
export const GATE_TOLERANCE = 1e-3;

export function gate(out: Outputs, ref: Reference): GateResult {
  let maxRelError = 0;
  let worst = '';
  const unchecked: string[] = [];
  for (const key of Object.keys(ref) as (keyof Reference)[]) {
    const r = ref[key];
    const o = out[key];
    if (r === undefined) continue;
    if (o === undefined) {
      unchecked.push(key);
      continue;
    }
    let err: number;
    if (o.length !== r.length) {
      err = Infinity;
    } else {
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < r.length; i++) {
        scale = Math.max(scale, Math.abs(r[i]));
        const e = Math.abs(o[i] - r[i]);
        // NaN must fail the gate, and `Math.max(x, NaN)` would hide nothing but `e > diff` would.
        diff = Number.isNaN(e) ? Infinity : Math.max(diff, e);
      }
      err = diff / (scale || 1);
    }
    if (err >= maxRelError) {
      maxRelError = err;
      worst = key;
    }
  }
  return { ok: maxRelError <= GATE_TOLERANCE && worst !== '', maxRelError, worst, unchecked };
}
