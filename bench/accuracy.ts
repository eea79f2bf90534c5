/**
 * Accuracy report: per-channel mean and variance of every implementation
 * that computes them, against the float64 two-pass reference, for data
 * `N(0,1)` and `10000 + N(0,1)` in both layouts.
 *
 * Why offset 1e4: float32 has 24 bits of mantissa, so at 1e4 the spacing
 * of representable values is ~1e-3 and a long float32 running sum of 1e4-ish
 * values loses the unit-variance signal; a one-pass `E[x^2] - E[x]^2`
 * subtracts two numbers near 1e8 and keeps almost nothing. Issue 3 saw
 * PyTorch's channels-last statistics off by ~12 standard deviations there.
 *
 * normkit is checked under every ISA the machine has and at 1 and 2 threads
 * (the target: variance relative error < 1e-6 in all of them).
 */
import { normalArray, Rng } from './core/data.js';
import { channelStats64 } from './core/reference.js';
import type { BenchShape } from './core/types.js';
import type { LoadedNormkit } from './peers/normkit.js';
import { loadOrt, ortBatchNorm, ortSupportsShape } from './peers/onnxruntime.js';
import { torchChannelStats } from './peers/pytorch.js';
import { tsChannelStats } from './peers/ts-loop.js';
import type { TfStatsFn } from './peers/tfjs.js';

export interface AccuracyRow {
  shape: string;
  layout: string;
  offset: number;
  impl: string;
  /** max over channels of |mean - ref| / |ref mean| (offset 0: / 1, the data's std). */
  meanRelError: number;
  /** max over channels of |mean - ref| / ref std: the error in standard deviations. */
  meanErrorInStd: number;
  /** max over channels of |variance - ref| / ref variance. */
  varianceRelError: number;
  error?: string;
}

export const VARIANCE_TARGET = 1e-6;

type StatsFn = (x: Float32Array, s: BenchShape) => Promise<{ mean: ArrayLike<number>; variance: ArrayLike<number> } | undefined>;

export interface AccuracyContenders {
  normkit?: LoadedNormkit;
  tfjs?: TfStatsFn;
}

function compare(got: { mean: ArrayLike<number>; variance: ArrayLike<number> }, ref: { mean: Float64Array; variance: Float64Array }) {
  let meanRel = 0;
  let meanStd = 0;
  let varRel = 0;
  for (let c = 0; c < ref.mean.length; c++) {
    const dm = Math.abs(got.mean[c] - ref.mean[c]);
    meanRel = Math.max(meanRel, Number.isNaN(dm) ? Infinity : dm / Math.max(Math.abs(ref.mean[c]), 1));
    meanStd = Math.max(meanStd, Number.isNaN(dm) ? Infinity : dm / Math.sqrt(ref.variance[c]));
    const dv = Math.abs(got.variance[c] - ref.variance[c]);
    varRel = Math.max(varRel, Number.isNaN(dv) ? Infinity : dv / ref.variance[c]);
  }
  return { meanRelError: meanRel, meanErrorInStd: meanStd, varianceRelError: varRel };
}

/** The contenders for one shape: name -> statistics function. */
function contenders(c: AccuracyContenders, allIsas: boolean): [string, StatsFn][] {
  const list: [string, StatsFn][] = [];
  const nk = c.normkit;
  if (nk !== undefined) {
    const info = nk.native.backendInfo();
    const isas = allIsas ? info.isaAvailable : [info.isa];
    for (const isa of isas) {
      for (const threads of [1, 2]) {
        list.push([
          `normkit channelStats ${isa} ${threads}t`,
          async (x, s) => {
            nk.native.setIsa(isa);
            nk.native.setNumThreads(threads);
            const mean = new Float32Array(s.channels);
            const variance = new Float32Array(s.channels);
            try {
              nk.native.channelStats(x, s.outer, s.channels, s.inner, mean, variance);
            } finally {
              nk.native.setIsa(info.isa);
            }
            return { mean, variance };
          },
        ]);
      }
    }
    list.push([
      `normkit kernels.batchNormTrain ${info.isa} 1t`,
      async (x, s) => {
        nk.native.setNumThreads(1);
        const r = nk.nk.kernels.batchNormTrain(x, { outer: s.outer, channels: s.channels, inner: s.inner });
        return { mean: r.mean, variance: r.variance };
      },
    ]);
  }
  if (c.tfjs !== undefined) {
    const tf = c.tfjs;
    list.push(['tfjs-cpu moments', (x, s) => tf('cpu', x, s)]);
    list.push(['tfjs-wasm moments', (x, s) => tf('wasm', x, s)]);
  }
  list.push([
    'onnxruntime training_mode',
    async (x, s) => {
      const ort = await loadOrt();
      if ('unsupported' in ort || !ortSupportsShape(s)) return undefined;
      const ones = new Float32Array(s.channels).fill(1);
      const zeros = new Float32Array(s.channels);
      const { session, feeds } = await ortBatchNorm(
        ort,
        { shape: s, x, dy: x, gamma: ones, beta: zeros, movingMean: zeros, movingVariance: ones, epsilon: 1e-3 },
        true,
      );
      const out = await session.run(feeds);
      await session.release();
      return { mean: out.running_mean.data, variance: out.running_var.data };
    },
  ]);
  list.push(['plain TypeScript loop', async (x, s) => tsChannelStats(x, s)]);
  list.push(['PyTorch F.batch_norm', (x, s) => torchChannelStats(x, s)]);
  return list;
}

/**
 * Runs the report over `shapes` (one channels-last and one channels-first
 * at least). `onProgress` is called before each contender.
 */
export async function accuracyReport(
  shapes: readonly BenchShape[],
  c: AccuracyContenders,
  allIsas: boolean,
  onProgress: (what: string) => void,
): Promise<AccuracyRow[]> {
  const rows: AccuracyRow[] = [];
  for (const s of shapes) {
    for (const offset of [0, 1e4]) {
      const x = normalArray(s.size, new Rng(7 + s.size), offset);
      const ref = channelStats64(x, s);
      for (const [impl, fn] of contenders(c, allIsas)) {
        onProgress(`accuracy ${s.label} offset ${offset} ${impl}`);
        const base = { shape: s.label, layout: s.layout, offset, impl };
        try {
          const got = await fn(x, s);
          if (got === undefined) continue;
          rows.push({ ...base, ...compare(got, ref) });
        } catch (e) {
          rows.push({ ...base, meanRelError: NaN, meanErrorInStd: NaN, varianceRelError: NaN, error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
  }
  return rows;
}
