/**
 * Soak test: many kernel calls in a steady-state loop, resident memory must
 * stay flat (no leak per call in the binding, the async workers or the layer).
 *
 *   npm run soak                 # 1,000,000 small calls + 1,000 large ones (a few minutes)
 *   node --expose-gc --import tsx test/soak/soak.ts --small 100000 --large 50 --json
 *
 * Small: the kernel API on [2,4,4,3] with preallocated outputs, every kernel
 * in turn, sync and (one call in ten) Async. Large: [32,28,28,128] through
 * the kernel API (preallocated, sync and Async) and the layer (apply and
 * applyAsync, which allocate their outputs: that garbage must be collected).
 * RSS is sampled after a warm-up and at the end, after a full GC when
 * `--expose-gc` is given; the run fails (exit 1) when it grew by more than
 * --limit-mb (default 20).
 */
import * as nk from '../../lib/index.js';

interface Options {
  small: number;
  large: number;
  limitMb: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { small: 1_000_000, large: 1_000, limitMb: 20, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`soak: expected a number >= 0 after ${a}, got ${argv[i]}`);
      return v;
    };
    if (a === '--small') o.small = next();
    else if (a === '--large') o.large = next();
    else if (a === '--limit-mb') o.limitMb = next();
    else if (a === '--json') o.json = true;
    else throw new Error(`soak: unknown argument ${a} (--small N --large N --limit-mb MB --json)`);
  }
  return o;
}

const gc = (globalThis as { gc?: () => void }).gc;
const MB = 1024 * 1024;

function settle(): NodeJS.MemoryUsage {
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage();
}

function fill(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 2 ** 32) * 4 - 1;
  }
  return x;
}

/** One phase: `calls` iterations of `step`, warm-up first; returns RSS before/after in MB. */
async function phase(name: string, calls: number, warm: number, step: (i: number) => void | Promise<unknown>, log: (s: string) => void) {
  for (let i = 0; i < warm; i++) await step(i);
  const before = settle();
  const t0 = performance.now();
  let peak = before.rss;
  const every = Math.max(1, Math.floor(calls / 10));
  for (let i = 0; i < calls; i++) {
    const r = step(i);
    if (r instanceof Promise) await r;
    if (i % every === every - 1) {
      const rss = process.memoryUsage().rss;
      peak = Math.max(peak, rss);
      log(`  ${name}: ${i + 1}/${calls} calls, rss ${(rss / MB).toFixed(1)} MB`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const after = settle();
  return {
    name,
    calls,
    warmupCalls: warm,
    seconds: Number(seconds.toFixed(2)),
    callsPerSecond: Math.round(calls / seconds),
    rssBeforeMb: Number((before.rss / MB).toFixed(1)),
    rssAfterMb: Number((after.rss / MB).toFixed(1)),
    rssPeakMb: Number((peak / MB).toFixed(1)),
    rssGrowthMb: Number(((after.rss - before.rss) / MB).toFixed(1)),
    heapGrowthMb: Number(((after.heapUsed - before.heapUsed) / MB).toFixed(2)),
    externalGrowthMb: Number(((after.external - before.external) / MB).toFixed(2)),
  };
}

async function soak(o: Options, log: (s: string) => void = () => {}) {
  // Small: [2,4,4,3] channels-last, every kernel, outputs preallocated once.
  const s = { shape: [2, 4, 4, 3] };
  const x = fill(96, 1);
  const dy = fill(96, 2);
  const gamma = fill(3, 3).map((v) => v + 2);
  const beta = fill(3, 4);
  const tr = { y: new Float32Array(96), mean: new Float32Array(3), variance: new Float32Array(3), invStd: new Float32Array(3) };
  const yi = new Float32Array(96);
  const bk = { dx: new Float32Array(96), dgamma: new Float32Array(3), dbeta: new Float32Array(3) };
  const st = { mean: new Float32Array(3), variance: new Float32Array(3) };
  nk.kernels.batchNormTrain(x, s, { gamma, beta, out: tr });
  const small = (i: number): void | Promise<unknown> => {
    const async = i % 10 === 9;
    switch (i % 4) {
      case 0: return async ? nk.kernels.batchNormTrainAsync(x, s, { gamma, beta, out: tr }) : void nk.kernels.batchNormTrain(x, s, { gamma, beta, out: tr });
      case 1: return async ? nk.kernels.batchNormInferAsync(x, s, { mean: tr.mean, variance: tr.variance, gamma, beta, out: yi }) : void nk.kernels.batchNormInfer(x, s, { mean: tr.mean, variance: tr.variance, gamma, beta, out: yi });
      case 2: return async ? nk.kernels.batchNormBackwardAsync(dy, x, s, { mean: tr.mean, invStd: tr.invStd, gamma, out: bk }) : void nk.kernels.batchNormBackward(dy, x, s, { mean: tr.mean, invStd: tr.invStd, gamma, out: bk });
      default: return async ? nk.kernels.channelStatsAsync(x, s, { out: st }) : void nk.kernels.channelStats(x, s, { out: st });
    }
  };

  // Large: [32,28,28,128] (3.2M floats, 12.8 MB), kernels into preallocated buffers and the layer.
  const L = { shape: [32, 28, 28, 128] };
  const n = 32 * 28 * 28 * 128;
  const X = fill(n, 5);
  const Xt = new nk.Tensor(X, L.shape);
  const TR = { y: new Float32Array(n), mean: new Float32Array(128), variance: new Float32Array(128), invStd: new Float32Array(128) };
  const YI = new Float32Array(n);
  const net = new nk.layers.BatchNormalization();
  net.apply(Xt, { training: true });
  const large = (i: number): void | Promise<unknown> => {
    switch (i % 4) {
      case 0: return void nk.kernels.batchNormTrain(X, L, { out: TR });
      case 1: return nk.kernels.batchNormInferAsync(X, L, { mean: TR.mean, variance: TR.variance, out: YI });
      case 2: return void net.apply(Xt, { training: i % 8 === 2 });
      default: return net.applyAsync(Xt);
    }
  };

  const start = settle();
  const phases = [];
  // Warm-up: the allocator and V8 reach their steady footprint. For the large phase that takes
  // a few dozen calls: glibc raises its mmap threshold after the first 12.8 MB buffers are freed
  // and then serves them from the heap, so RSS climbs to a plateau first (not a leak).
  if (o.small > 0) phases.push(await phase('small [2,4,4,3]', o.small, Math.min(Math.ceil(o.small / 20), 20_000), small, log));
  if (o.large > 0) phases.push(await phase('large [32,28,28,128]', o.large, 40, large, log));
  const end = settle();
  const worst = Math.max(...phases.map((p) => p.rssGrowthMb));
  return {
    node: process.version,
    exposeGc: gc !== undefined,
    backend: nk.backendInfo(),
    limitMb: o.limitMb,
    rssStartMb: Number((start.rss / MB).toFixed(1)),
    rssEndMb: Number((end.rss / MB).toFixed(1)),
    phases,
    pass: phases.every((p) => p.rssGrowthMb < o.limitMb),
    worstGrowthMb: worst,
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = o.json ? () => {} : (line: string) => console.log(line);
  if (!gc) log('soak: run with node --expose-gc for exact numbers (GC is not forced otherwise)');
  log(`soak: ${o.small} small calls, ${o.large} large calls, RSS growth limit ${o.limitMb} MB`);
  const report = await soak(o, log);
  if (o.json) console.log(JSON.stringify(report));
  else {
    for (const p of report.phases) {
      log(`${p.name}: ${p.calls} calls in ${p.seconds} s (${p.callsPerSecond}/s); rss ${p.rssBeforeMb} -> ${p.rssAfterMb} MB (growth ${p.rssGrowthMb} MB, peak ${p.rssPeakMb} MB), heap ${p.heapGrowthMb} MB, external ${p.externalGrowthMb} MB`);
    }
    log(report.pass ? `soak: PASS (worst growth ${report.worstGrowthMb} MB < ${o.limitMb} MB)` : `soak: FAIL (growth ${report.worstGrowthMb} MB >= ${o.limitMb} MB)`);
  }
  process.exitCode = report.pass ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 2;
});
