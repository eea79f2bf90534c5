/**
 * The "what a user would write" baseline: batch norm as plain TypeScript
 * loops over Float32Arrays — but written well, so the 10x target is against
 * a fair opponent, not a strawman:
 *   - two passes for the statistics (mean, then squared deviations), with
 *     float64 accumulators (JS numbers are doubles anyway), so it is exact;
 *   - the forward folds mean, invStd, gamma and beta into one per-channel
 *     scale and shift, so the element loop is one multiply-add;
 *   - the backward gets both per-channel sums in one pass and folds dx into
 *     `a*dy + b*x + c` per channel;
 *   - loops follow memory order for both layouts (channel innermost for
 *     channels-last, a contiguous run per (n, c) for channels-first);
 *   - outputs preallocated, as a careful user would.
 */
import type { BenchShape, CaseData, Impl, Op, Runner } from '../core/types.js';

interface Stats {
  mean: Float64Array;
  variance: Float64Array;
}

/** Two-pass channel statistics in the tensor's memory order. */
export function tsChannelStats(x: Float32Array, s: BenchShape, out?: Stats): Stats {
  const { outer, channels: C, inner } = s;
  const mean = out?.mean ?? new Float64Array(C);
  const variance = out?.variance ?? new Float64Array(C);
  mean.fill(0);
  variance.fill(0);
  const m = outer * inner;
  if (inner === 1) {
    for (let r = 0, i = 0; r < outer; r++) for (let c = 0; c < C; c++, i++) mean[c] += x[i];
    for (let c = 0; c < C; c++) mean[c] /= m;
    for (let r = 0, i = 0; r < outer; r++) {
      for (let c = 0; c < C; c++, i++) {
        const d = x[i] - mean[c];
        variance[c] += d * d;
      }
    }
  } else {
    for (let o = 0, i = 0; o < outer; o++) {
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (const end = i + inner; i < end; i++) acc += x[i];
        mean[c] += acc;
      }
    }
    for (let c = 0; c < C; c++) mean[c] /= m;
    for (let o = 0, i = 0; o < outer; o++) {
      for (let c = 0; c < C; c++) {
        const mu = mean[c];
        let acc = 0;
        for (const end = i + inner; i < end; i++) {
          const d = x[i] - mu;
          acc += d * d;
        }
        variance[c] += acc;
      }
    }
  }
  for (let c = 0; c < C; c++) variance[c] /= m;
  return { mean, variance };
}

/** y = x * scale[c] + shift[c] over the view. */
function affine(x: Float32Array, s: BenchShape, scale: Float64Array, shift: Float64Array, y: Float32Array): void {
  const { outer, channels: C, inner } = s;
  if (inner === 1) {
    for (let r = 0, i = 0; r < outer; r++) for (let c = 0; c < C; c++, i++) y[i] = x[i] * scale[c] + shift[c];
  } else {
    for (let o = 0, i = 0; o < outer; o++) {
      for (let c = 0; c < C; c++) {
        const a = scale[c];
        const b = shift[c];
        for (const end = i + inner; i < end; i++) y[i] = x[i] * a + b;
      }
    }
  }
}

export function tsBatchNormInfer(d: CaseData, y: Float32Array, scale: Float64Array, shift: Float64Array): void {
  for (let c = 0; c < d.shape.channels; c++) {
    scale[c] = d.gamma[c] / Math.sqrt(d.movingVariance[c] + d.epsilon);
    shift[c] = d.beta[c] - d.movingMean[c] * scale[c];
  }
  affine(d.x, d.shape, scale, shift, y);
}

export function tsBatchNormTrain(d: CaseData, y: Float32Array, stats: Stats, scale: Float64Array, shift: Float64Array): void {
  tsChannelStats(d.x, d.shape, stats);
  for (let c = 0; c < d.shape.channels; c++) {
    scale[c] = d.gamma[c] / Math.sqrt(stats.variance[c] + d.epsilon);
    shift[c] = d.beta[c] - stats.mean[c] * scale[c];
  }
  affine(d.x, d.shape, scale, shift, y);
}

interface BackwardScratch {
  stats: Stats;
  dgamma: Float64Array;
  dbeta: Float64Array;
  a: Float64Array;
  b: Float64Array;
  k: Float64Array;
}

/**
 * Backward through the batch statistics. With xhat = (x - mean) * invStd,
 * dx = gamma*invStd*(dy - dbeta/m - xhat*dgamma/m) is per channel
 * `a*dy + b*x + k` with a = gamma*invStd, b = -a*invStd*dgamma/m,
 * k = -a*dbeta/m - b*mean. Statistics come from the forward (the same
 * two-pass function), as a framework would keep them.
 */
export function tsBatchNormBackward(d: CaseData, stats: Stats, dx: Float32Array, s: BackwardScratch): void {
  const { outer, channels: C, inner } = d.shape;
  const { x, dy } = d;
  const { dgamma, dbeta, a, b, k } = s;
  const mean = stats.mean;
  dgamma.fill(0);
  dbeta.fill(0);
  if (inner === 1) {
    for (let r = 0, i = 0; r < outer; r++) {
      for (let c = 0; c < C; c++, i++) {
        dbeta[c] += dy[i];
        dgamma[c] += dy[i] * (x[i] - mean[c]);
      }
    }
  } else {
    for (let o = 0, i = 0; o < outer; o++) {
      for (let c = 0; c < C; c++) {
        const mu = mean[c];
        let sdy = 0;
        let sdyx = 0;
        for (const end = i + inner; i < end; i++) {
          sdy += dy[i];
          sdyx += dy[i] * (x[i] - mu);
        }
        dbeta[c] += sdy;
        dgamma[c] += sdyx;
      }
    }
  }
  const m = outer * inner;
  for (let c = 0; c < C; c++) {
    const invStd = 1 / Math.sqrt(stats.variance[c] + d.epsilon);
    dgamma[c] *= invStd;
    a[c] = d.gamma[c] * invStd;
    b[c] = (-a[c] * invStd * dgamma[c]) / m;
    k[c] = (-a[c] * dbeta[c]) / m - b[c] * mean[c];
  }
  if (inner === 1) {
    for (let r = 0, i = 0; r < outer; r++) for (let c = 0; c < C; c++, i++) dx[i] = a[c] * dy[i] + b[c] * x[i] + k[c];
  } else {
    for (let o = 0, i = 0; o < outer; o++) {
      for (let c = 0; c < C; c++) {
        const ac = a[c];
        const bc = b[c];
        const kc = k[c];
        for (const end = i + inner; i < end; i++) dx[i] = ac * dy[i] + bc * x[i] + kc;
      }
    }
  }
}

function f32(a: Float64Array): Float32Array {
  return Float32Array.from(a);
}

export const tsLoop: Impl = {
  id: 'ts-loop',
  peer: 'ts-loop',
  label: 'plain TypeScript loop',
  threads: 1,
  isNormkit: false,
  supports: () => true,
  async prepare(op: Op, d: CaseData): Promise<Runner> {
    const C = d.shape.channels;
    const scale = new Float64Array(C);
    const shift = new Float64Array(C);
    const stats = { mean: new Float64Array(C), variance: new Float64Array(C) };
    if (op === 'infer') {
      const y = new Float32Array(d.shape.size);
      return { run: () => tsBatchNormInfer(d, y, scale, shift), outputs: () => ({ y }) };
    }
    if (op === 'train') {
      const y = new Float32Array(d.shape.size);
      return {
        run: () => tsBatchNormTrain(d, y, stats, scale, shift),
        outputs: () => ({ y, mean: f32(stats.mean), variance: f32(stats.variance) }),
      };
    }
    tsChannelStats(d.x, d.shape, stats);
    const dx = new Float32Array(d.shape.size);
    const scratch: BackwardScratch = {
      stats,
      dgamma: new Float64Array(C),
      dbeta: new Float64Array(C),
      a: new Float64Array(C),
      b: new Float64Array(C),
      k: new Float64Array(C),
    };
    return {
      run: () => tsBatchNormBackward(d, stats, dx, scratch),
      outputs: () => ({ dx, dgamma: f32(scratch.dgamma), dbeta: f32(scratch.dbeta) }),
    };
  },
};
