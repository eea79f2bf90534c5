/**
 * The one timer every row goes through (except PyTorch's, which runs the
 * same algorithm in its own process: peers/pytorch_peer.py).
 *
 * Warm-up first (JIT tiers, page faults of fresh buffers, caches, lazy
 * backend init), then samples of `itersPerSample` back-to-back calls. The
 * iteration count is chosen from the warm-up so that one sample lasts at
 * least `minSampleMs` (a 200 ns call is timed over thousands of calls, a
 * 2 s call alone), and the sample count from the budget, so that big shapes
 * do not take forever and tiny ones get many samples. The median of the
 * per-call times is the headline; p10/p90 and the MAD show the spread.
 */
import type { Timing, TimingOptions } from './types.js';

export const FULL_TIMING: TimingOptions = { warmupMs: 300, budgetMs: 1500, minSamples: 5, maxSamples: 40, minSampleMs: 5 };
export const QUICK_TIMING: TimingOptions = { warmupMs: 40, budgetMs: 120, minSamples: 3, maxSamples: 15, minSampleMs: 2 };

type Fn = () => void | Promise<void>;

/** Samples taken of a call that alone overruns the budget: the least that has a median. */
const SLOW_SAMPLES = 3;

function now(): number {
  return Number(process.hrtime.bigint());
}

/** Runs `fn` `iters` times; awaits only when it returns a promise, so sync calls pay nothing extra. */
async function loop(fn: Fn, iters: number): Promise<number> {
  const t0 = now();
  for (let i = 0; i < iters; i++) {
    const r = fn();
    if (r !== undefined) await r;
  }
  return now() - t0;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(perCallNs: readonly number[], itersPerSample: number): Timing {
  const sorted = [...perCallNs].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const dev = sorted.map((t) => Math.abs(t - median)).sort((a, b) => a - b);
  return {
    medianNs: median,
    minNs: sorted[0],
    p10Ns: quantile(sorted, 0.1),
    p90Ns: quantile(sorted, 0.9),
    madNs: quantile(dev, 0.5),
    samples: sorted.length,
    itersPerSample,
  };
}

/**
 * Times `fn`; see the module comment for the method. `priorCallNs` is the
 * duration of a call the caller just made (the correctness gate's): when it
 * alone exceeds the warm-up time, that call was the warm-up, and a peer that
 * takes many seconds per call is not run once more for nothing.
 */
export async function measure(fn: Fn, opts: TimingOptions, priorCallNs?: number): Promise<Timing> {
  // Warm-up: until the warm-up time is spent, but at least one call; the
  // last batch estimates one call. A call slower than the whole warm-up is
  // not repeated just to warm up.
  let warmCalls = 0;
  let lastNs = priorCallNs ?? 0;
  const warmStart = now();
  while (!(lastNs >= opts.warmupMs * 1e6) && (warmCalls === 0 || now() - warmStart < opts.warmupMs * 1e6)) {
    const batch = Math.max(1, Math.min(1 << 16, warmCalls));
    lastNs = (await loop(fn, batch)) / batch;
    warmCalls += batch;
  }
  const perCallEstimate = Math.max(lastNs, 1);
  const iters = Math.max(1, Math.ceil((opts.minSampleMs * 1e6) / perCallEstimate));
  const sampleNs = iters * perCallEstimate;
  const fit = Math.floor((opts.budgetMs * 1e6) / sampleNs);
  const samples = fit < opts.minSamples ? Math.max(SLOW_SAMPLES, Math.min(fit, opts.minSamples)) : Math.min(opts.maxSamples, fit);
  const perCall: number[] = [];
  for (let s = 0; s < samples; s++) perCall.push((await loop(fn, iters)) / iters);
  return summarize(perCall, iters);
}

/** `1.23 ms`-style formatting with three significant digits. */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return '—';
  const units: [number, string][] = [
    [1e9, 's'],
    [1e6, 'ms'],
    [1e3, 'µs'],
    [1, 'ns'],
  ];
  for (const [scale, unit] of units) {
    if (ns >= scale || unit === 'ns') return `${(ns / scale).toPrecision(3)} ${unit}`;
  }
  return `${ns} ns`;
}
