/**
 * `npm run bench`: normkit against its peers and this machine's streaming
 * bandwidth, side by side in one run (issue 3, DESIGN.md "Performance
 * contract"). See bench/README.md for the columns and options.
 *
 *   npm run bench                      full run (~8-10 min on 2 cores)
 *   npm run bench -- --quick           CI smoke, under a minute
 *   npm run bench -- --op train --shape 32,28,28,128 --peer normkit,tfjs-wasm
 *   npm run bench -- --publish         also write bench/RESULTS.md and bench/RESULTS.svg
 *
 * Each row: the roofline at the row's working set and thread count (copy
 * bandwidth, measured once per size and cached), then the implementation
 * is prepared, run once and checked against the float64 reference (the
 * correctness gate), then timed. Rows that fail the gate are still timed
 * and are marked WRONG; rows that throw are marked ERROR.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { accuracyReport, type AccuracyRow } from './accuracy.js';
import { makeCase } from './core/data.js';
import { cpuInfo, machineLine, type MachineInfo } from './core/machine.js';
import { Progress } from './core/progress.js';
import { gate, reference, type Reference } from './core/reference.js';
import type { CallOverhead, ResultRow, RunResults } from './core/results.js';
import { Roofline, TYPED_ARRAY_COPY, gbPerSecond, trafficBytes, workingSetBytes, type CopyKernel } from './core/roofline.js';
import { layoutTag, TINY_SHAPE } from './core/shapes.js';
import { FULL_TIMING, QUICK_TIMING, formatNs, measure } from './core/timing.js';
import type { BenchShape, CaseData, Impl, ImplLoader, Op } from './core/types.js';
import type { BenchBinding } from '../lib/native.js';
import { loadNormkit, loadNormkitImpls, normkitModules, NORMKIT_REFERENCE_ID } from './peers/normkit.js';
import { loadOrtImpls, ortVersion } from './peers/onnxruntime.js';
import { closeTorch, loadTorchImpls, torchVersion } from './peers/pytorch.js';
import { loadTfjsImpls, loadTfStats, tfjsVersion } from './peers/tfjs.js';
import { tsLoop } from './peers/ts-loop.js';
import { chartSvg } from './report/svg.js';
import { accuracyTable, opTable, overheadTable, summaryTable, targetsTable } from './report/table.js';
import { checkTargets, PYTORCH_PUBLISHED_MS } from './report/targets.js';
import { SCENARIOS } from './scenarios/index.js';

interface Args {
  quick: boolean;
  ops?: Op[];
  shapes?: string[];
  peers?: string[];
  accuracy: boolean;
  publish: boolean;
  outDir: string;
}

const USAGE = `usage: npm run bench -- [--quick] [--op infer,train,backward] [--shape 32,28,28,128;32,64]
                      [--peer normkit,tfjs-cpu,tfjs-wasm,onnxruntime,ts-loop,pytorch] [--no-accuracy]
                      [--publish] [--out DIR]`;

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, accuracy: true, publish: false, outDir: path.join(__dirname, 'out') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--quick':
        a.quick = true;
        break;
      case '--op':
        a.ops = value().split(',') as Op[];
        for (const op of a.ops) if (!SCENARIOS.some((s) => s.op === op)) throw new Error(`unknown op '${op}'\n${USAGE}`);
        break;
      case '--shape':
        // Shapes are separated by ';' or spaces; "32x64", "[32,64]" and "32,64" all name [32,64].
        a.shapes = value()
          .split(/[;\s]+/)
          .filter(Boolean)
          .map((s) => `[${s.replace(/[[\]\s]/g, '').replace(/x/g, ',')}]`);
        break;
      case '--peer':
        a.peers = value().split(',');
        break;
      case '--no-accuracy':
        a.accuracy = false;
        break;
      case '--publish':
        a.publish = true;
        break;
      case '--out':
        a.outDir = path.resolve(value());
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument '${argv[i]}'\n${USAGE}`);
    }
  }
  return a;
}

const FAMILIES: [string, ImplLoader][] = [
  ['normkit', loadNormkitImpls],
  ['pytorch', loadTorchImpls],
  ['onnxruntime', loadOrtImpls],
  ['tfjs', loadTfjsImpls],
  ['ts-loop', async () => [tsLoop]],
];

function wanted(impl: Impl, peers: string[] | undefined): boolean {
  if (impl.id === NORMKIT_REFERENCE_ID) return true; // every speedup is measured against it
  return peers === undefined || peers.some((p) => impl.id.startsWith(p) || impl.peer === p);
}

/** `--quick` leaves out rows whose single call takes seconds (TensorFlow.js cpu on the mid-size shapes). */
function skipInQuick(impl: Impl, s: BenchShape): boolean {
  return impl.peer === 'tfjs-cpu' && s.size > 1 << 18;
}

/**
 * Expected seconds of a row, for the ETA: ~1.5 s of warm-up and samples,
 * plus seconds per million elements for the slow peers (from a full run on
 * the 2-core machine: TensorFlow.js cpu's backward dominates the run).
 */
function rowWeight(impl: Impl, op: Op, s: BenchShape): number {
  const perMillion: Record<string, Record<Op, number>> = {
    'tfjs-cpu': { infer: 0.25, train: 1.2, backward: 7 },
    'tfjs-wasm': { infer: 0.1, train: 0.25, backward: 0.9 },
  };
  return 1.5 + (s.size / 1e6) * (perMillion[impl.peer]?.[op] ?? 0.05);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const timing = args.quick ? QUICK_TIMING : FULL_TIMING;
  const scenarios = SCENARIOS.filter((s) => args.ops === undefined || args.ops.includes(s.op));

  // Implementations.
  const impls: Impl[] = [];
  const unavailable: Record<string, string> = {};
  for (const [family, load] of FAMILIES) {
    if (family !== 'normkit' && args.peers !== undefined && !args.peers.some((p) => p.startsWith(family) || family.startsWith(p))) continue;
    const r = await load();
    if ('unsupported' in r) unavailable[family] = r.unsupported;
    else impls.push(...r.filter((i) => wanted(i, args.peers)));
  }
  const nk = await loadNormkit();
  const normkit = 'unsupported' in nk ? undefined : nk;

  // Machine line.
  const { cpu, simd } = cpuInfo();
  const peers: Record<string, string> = {};
  const versions: [string, Promise<string | undefined>][] = [
    ['tfjs', unavailable.tfjs ? Promise.resolve(undefined) : tfjsVersion()],
    ['onnxruntime-node', unavailable.onnxruntime ? Promise.resolve(undefined) : ortVersion()],
    ['PyTorch', unavailable.pytorch || !impls.some((i) => i.peer === 'pytorch') ? Promise.resolve(undefined) : torchVersion()],
  ];
  for (const [k, v] of versions) {
    const ver = await v;
    if (ver !== undefined) peers[k] = ver;
  }
  const info = normkit?.native.backendInfo();
  const machine: MachineInfo = {
    cpu,
    cores: os.cpus().length,
    simd,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    normkit: info ? { isa: info.isa, isaAvailable: info.isaAvailable, threads: info.threads, version: info.version } : undefined,
    peers,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadAverage: { start: os.loadavg()[0] },
  };
  if (machine.loadAverage.start > 0.5) {
    process.stderr.write(`warning: load average ${machine.loadAverage.start.toFixed(2)} on ${machine.cores} cores: other work will skew the numbers\n`);
  }
  process.stderr.write(`${machineLine(machine)}\n`);
  for (const [k, v] of Object.entries(unavailable)) process.stderr.write(`not measured: ${k}: ${v}\n`);

  // The bench's own addon (the noop floor and the roofline copy), built beside
  // the main addon; lib/native.ts keeps its ISA and thread count equal to the
  // main addon's, so native.setNumThreads sets the copy's threads as well.
  let benchAddon: BenchBinding | undefined;
  if (normkit) {
    try {
      benchAddon = normkitModules().nativeModule.benchBinding();
    } catch (e) {
      process.stderr.write(`not measured: call-overhead floor, normkit roofline copy: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }

  // The roofline kernel: normkit's streaming copy when the bench addon is there.
  const copy: CopyKernel = normkit && benchAddon
    ? { name: `normkit streamCopy (${info?.isa})`, copy: (s, d) => benchAddon.streamCopy(s, d), setThreads: (n) => normkit.native.setNumThreads(n) }
    : TYPED_ARRAY_COPY;
  const roofline = new Roofline(copy, timing);

  // Plan: shape-major, so each shape's data is generated once for all ops.
  const shapeList: BenchShape[] = [];
  for (const s of scenarios) {
    for (const sh of args.quick ? s.quickShapes : s.shapes) {
      if (args.shapes !== undefined && !args.shapes.includes(sh.label)) continue;
      if (!shapeList.some((x) => x.label === sh.label)) shapeList.push(sh);
    }
  }
  if (args.shapes !== undefined) {
    for (const label of args.shapes) {
      if (!shapeList.some((s) => s.label === label)) throw new Error(`--shape ${label}: not a bench shape (${SCENARIOS[0].shapes.map((s) => s.label).join(' ')})`);
    }
  }
  const plan: { shape: BenchShape; op: Op; impl: Impl }[] = [];
  for (const shape of shapeList) {
    for (const s of scenarios) {
      if (!(args.quick ? s.quickShapes : s.shapes).includes(shape)) continue;
      for (const impl of impls) plan.push({ shape, op: s.op, impl });
    }
  }
  const accuracyShapes = args.accuracy ? shapeList.filter((s) => s.size >= 1 << 20) : [];
  const progress = new Progress(plan.length + (accuracyShapes.length > 0 ? 1 : 0), plan.reduce((w, p) => w + rowWeight(p.impl, p.op, p.shape), 0) + accuracyShapes.length * 8);

  // The call-overhead floor, measured once in this run.
  let callOverhead: CallOverhead | undefined;
  if (normkit && benchAddon) {
    const a = new Float32Array(96);
    const b = new Float32Array(96);
    callOverhead = { noop: await measure(() => benchAddon.noop(a, b), timing) };
    process.stderr.write(`empty Node-API call (noop): ${formatNs(callOverhead.noop.medianNs)}\n`);
    // The async round trip (AsyncWorker on the libuv pool and back) next to the sync call, on the tiny shape.
    const x = Float32Array.from({ length: TINY_SHAPE.size }, (_, i) => Math.sin(i));
    const layout = { shape: TINY_SHAPE.shape, axis: TINY_SHAPE.axis };
    const C = TINY_SHAPE.channels;
    const opts = { out: { y: new Float32Array(TINY_SHAPE.size), mean: new Float32Array(C), variance: new Float32Array(C), invStd: new Float32Array(C) } };
    callOverhead.syncTrain = await measure(() => void normkit.nk.kernels.batchNormTrain(x, layout, opts), timing);
    callOverhead.asyncTrain = await measure(async () => void (await normkit.nk.kernels.batchNormTrainAsync(x, layout, opts)), timing);
  }

  const rows: ResultRow[] = [];
  // One shape's inputs and references at a time: the largest take ~100 MB each.
  let d: CaseData | undefined;
  const refs = new Map<Op, Reference>();
  for (const { shape, op, impl } of plan) {
    if (d?.shape !== shape) {
      d = undefined;
      refs.clear();
      d = makeCase(shape);
    }
    progress.step(`${op} ${shape.label} ${impl.id}`);
    const row: ResultRow = {
      op,
      shape: shape.label,
      layout: shape.layout,
      layoutTag: layoutTag(shape),
      elements: shape.size,
      impl: impl.id,
      peer: impl.peer,
      label: impl.label,
      threads: impl.threads,
      isNormkit: impl.isNormkit,
      status: 'unsupported',
      trafficBytes: trafficBytes(op, shape),
      workingSetBytes: workingSetBytes(op, shape),
    };
    rows.push(row);
    const support = args.quick && skipInQuick(impl, shape) ? { unsupported: 'skipped in --quick (seconds per call)' } : impl.supports(op, shape);
    if (support !== true) {
      row.reason = support.unsupported;
      progress.finish(rowWeight(impl, op, shape));
      continue;
    }
    try {
      // Roofline first: it sets the thread count, and prepare sets it back for the row.
      const rl = await roofline.at(`${op} ${shape.label}`, row.workingSetBytes, copy === TYPED_ARRAY_COPY ? 1 : impl.threads);
      row.rooflineGbps = rl.gbps;
      let ref = refs.get(op);
      if (ref === undefined) {
        ref = reference(op, d);
        refs.set(op, ref);
      }
      const runner = await impl.prepare(op, d);
      row.note = runner.note;
      try {
        const t0 = process.hrtime.bigint();
        const r0 = runner.run();
        if (r0 !== undefined) await r0;
        const gateCallNs = Number(process.hrtime.bigint() - t0);
        row.gate = gate(await runner.outputs(), ref);
        row.status = row.gate.ok ? 'ok' : 'wrong';
        row.timing = runner.selfTimed ? await runner.selfTimed(timing) : await measure(runner.run, timing, gateCallNs);
        row.ns = row.timing.medianNs;
        if (runner.subtractForward) {
          const fwd = await measure(runner.subtractForward, timing);
          row.forwardSubtractedNs = fwd.medianNs;
          row.ns = Math.max(row.timing.medianNs - fwd.medianNs, 0);
        }
      } finally {
        await runner.dispose?.();
      }
      row.gbps = gbPerSecond(row.trafficBytes, row.ns);
      row.rooflineFraction = row.gbps / rl.gbps;
    } catch (e) {
      row.status = 'error';
      row.reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    }
    progress.finish(rowWeight(impl, op, shape));
  }
  d = undefined;
  refs.clear();

  // Speedups: every peer against normkit's kernel API at one thread; thread scaling of normkit rows.
  for (const r of rows) {
    if (r.ns === undefined) continue;
    const same = (id: string): ResultRow | undefined => rows.find((o) => o.op === r.op && o.shape === r.shape && o.impl === id && o.ns !== undefined);
    if (!r.isNormkit) {
      const nkRow = same(NORMKIT_REFERENCE_ID);
      if (nkRow?.ns) r.normkitSpeedup = r.ns / nkRow.ns;
    } else if (r.threads > 1) {
      const one = same(r.impl.replace(/-\d+t$/, '-1t'));
      if (one?.ns && r.ns > 0) r.threadScaling = one.ns / r.ns;
    }
  }

  let accuracy: AccuracyRow[] = [];
  if (accuracyShapes.length > 0) {
    progress.step('accuracy report');
    const tfStats = unavailable.tfjs ? undefined : await loadTfStats();
    accuracy = await accuracyReport(accuracyShapes, { normkit, tfjs: tfStats }, true, (what) => progress.step(what));
    progress.finish(accuracyShapes.length * 8);
  }
  progress.end();
  machine.loadAverage.end = os.loadavg()[0];
  await closeTorch();

  const torchMeasured = rows.some((r) => r.peer === 'pytorch' && r.ns !== undefined);
  const results: RunResults = {
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    quick: args.quick,
    machine,
    timingOptions: timing,
    roofline: {
      kernel: copy.name,
      points: roofline.points().map((p) => ({ group: p.group, workingSetBytes: p.workingSetBytes, threads: p.threads, gbps: p.gbps, minNs: p.timing.minNs, medianNs: p.timing.medianNs })),
    },
    unavailable,
    callOverhead,
    rows,
    accuracy,
    targets: checkTargets(rows, callOverhead, accuracy, torchMeasured),
  };

  const report = markdownReport(results, torchMeasured);
  fs.mkdirSync(args.outDir, { recursive: true });
  fs.writeFileSync(path.join(args.outDir, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  const svg = chartSvg(results, scenarios);
  fs.writeFileSync(path.join(args.outDir, 'chart.svg'), svg);
  fs.writeFileSync(path.join(args.outDir, 'RESULTS.md'), report);
  if (args.publish) {
    fs.writeFileSync(path.join(__dirname, 'RESULTS.md'), report);
    fs.writeFileSync(path.join(__dirname, 'RESULTS.svg'), svg);
  }
  process.stdout.write(report);
  process.stderr.write(`wrote ${path.join(args.outDir, 'results.json')}, chart.svg, RESULTS.md${args.publish ? ' and bench/RESULTS.{md,svg}' : ''}\n`);
}

function markdownReport(res: RunResults, torchMeasured: boolean): string {
  const out: string[] = [];
  out.push('# normkit bench results', '');
  out.push(`**Machine:** ${machineLine(res.machine)}`, '');
  out.push(`**Command:** \`${res.command}\`${res.quick ? ' (quick mode: fewer shapes, short timing budget)' : ''}`, '');
  out.push(
    `**Method:** float32; median of ${res.timingOptions.minSamples}–${res.timingOptions.maxSamples} samples after ${res.timingOptions.warmupMs} ms warm-up ` +
      `(3 for calls slower than the ${res.timingOptions.budgetMs} ms budget); GB/s = traffic-model bytes / median; ` +
      `roofline = ${res.roofline.kernel} at the same working set and thread count, best sample, re-measured before each op x shape group; ` +
      `normkit speedup = peer time / normkit kernel-API 1-thread time. Peers run at 1 thread.`,
    '',
  );
  if (res.callOverhead) out.push(`**Call-overhead floor:** empty Node-API call (the bench addon's \`noop\`, unwraps two typed arrays): ${formatNs(res.callOverhead.noop.medianNs)}`, '');
  for (const [k, v] of Object.entries(res.unavailable)) out.push(`**Not measured:** ${k}: ${v}`, '');
  out.push('## Targets (issue 3)', '', targetsTable(res), '');
  out.push(
    '## Summary: normkit kernel API (1 thread) vs the roofline and each peer',
    '',
    '"vs <peer>" = peer time / normkit time. WRONG: the peer failed the correctness gate there (its speedup is shown but does not count).',
    '',
    summaryTable(res.rows, NORMKIT_REFERENCE_ID),
    '',
  );
  if (res.callOverhead && res.rows.some((r) => r.shape === TINY_SHAPE.label)) {
    out.push(`## Call overhead on ${TINY_SHAPE.label}`, '', overheadTable(res.rows, TINY_SHAPE.label, res.callOverhead.noop.medianNs), '');
    const { syncTrain, asyncTrain } = res.callOverhead;
    if (syncTrain && asyncTrain) {
      out.push(
        `**Async round trip:** \`nk.kernels.batchNormTrainAsync\` on ${TINY_SHAPE.label} (AsyncWorker on the libuv pool, Promise resolved) ${formatNs(asyncTrain.medianNs)} vs the sync \`nk.kernels.batchNormTrain\` ${formatNs(syncTrain.medianNs)}: the async path pays off only when the kernel itself takes longer than the round trip` +
          (fs.existsSync(path.join(__dirname, 'service', 'RESULTS.md')) ? ' (see also the service load test, [`service/RESULTS.md`](service/RESULTS.md)).' : '.'),
        '',
      );
    }
  }
  for (const s of SCENARIOS) {
    if (!res.rows.some((r) => r.op === s.op)) continue;
    out.push(`## ${s.title}`, '', opTable(s, res.rows), '');
  }
  if (!torchMeasured) {
    out.push(
      '## PyTorch (reference, not measured in this run)',
      '',
      'PyTorch 1.13 (Debian python3-torch), one thread, as issue 3 reports it:',
      '',
      ...PYTORCH_PUBLISHED_MS.map((p) => `- ${p.op} ${p.shape}: ${p.ms} ms`),
      '',
    );
  }
  if (res.accuracy.length > 0) {
    out.push(
      '## Accuracy of the channel statistics',
      '',
      'Against a float64 two-pass reference on the same float32 data; max over channels. "mean err (σ)" is the mean\'s error in standard deviations of the data.',
      '',
      accuracyTable(res.accuracy),
      '',
    );
  }
  return out.join('\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
