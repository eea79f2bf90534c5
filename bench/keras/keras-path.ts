/**
 * Bench rows for the Keras path: what users write (`layer.apply` without
 * `out`, plain and inside `nk.tidy`, forward + `tape.gradient`, the
 * tutorial's full SGD step, elementwise ops and reductions), against the
 * kernel API with `out`, the TS loop, PyTorch (subprocess, one thread) and
 * the same run's copy roofline; minor page faults per step for normkit.
 *
 * Run: `npm run build:ts && npx tsx bench/keras/keras-path.ts [--quick] [--no-pytorch]`.
 * Prints a markdown table with the issue's targets marked pass/fail.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nk = require('../../dist/index.js') as typeof import('../../lib/index.js');

const quick = process.argv.includes('--quick');
const noTorch = process.argv.includes('--no-pytorch');

interface Stat { median: number; p10: number; p90: number; faults: number }

/** Median and p10-p90 of per-step ns, after warmups; minor page faults per timed step. */
function time(fn: () => void, budgetMs = quick ? 60 : 400): Stat {
  for (let i = 0; i < 3; i++) fn();
  const t0 = performance.now();
  fn();
  const one = Math.max(performance.now() - t0, 1e-3);
  const reps = Math.max(5, Math.min(2000, Math.floor(budgetMs / one)));
  const samples: number[] = [];
  const f0 = process.resourceUsage().minorPageFault;
  for (let i = 0; i < reps; i++) {
    const s = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - s));
  }
  const faults = (process.resourceUsage().minorPageFault - f0) / reps;
  samples.sort((a, b) => a - b);
  const q = (p: number): number => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), faults };
}

interface Case { name: string; shape: number[]; axis: number }
const CASES: Case[] = quick
  ? [{ name: 'nhwc-small', shape: [4, 8, 8, 16], axis: -1 }, { name: 'tiny', shape: [2, 4, 4, 3], axis: -1 }]
  : [
      { name: 'nhwc [32,28,28,128]', shape: [32, 28, 28, 128], axis: -1 },
      { name: 'nchw [32,128,28,28]', shape: [32, 128, 28, 28], axis: 1 },
      { name: '2d [4096,1024]', shape: [4096, 1024], axis: -1 },
      { name: 'tiny [2,4,4,3]', shape: [2, 4, 4, 3], axis: -1 },
    ];

interface Row { case: string; row: string; stat: Stat | null; note?: string; bytes?: number }
const rows: Row[] = [];

function tidy<T>(f: () => T): T {
  return nk.tidy(f as () => never) as T;
}

/** Copy bandwidth of this run (bytes read + written per ns), on `n` floats. */
function copyGBs(n: number): number {
  const a = new Float32Array(n).fill(1);
  const b = new Float32Array(n);
  const s = time(() => b.set(a));
  return (8 * n) / s.median;
}

for (const c of CASES) {
  const size = c.shape.reduce((a, b) => a * b, 1);
  const rank = c.shape.length;
  const ax = c.axis < 0 ? rank + c.axis : c.axis;
  const C = c.shape[ax];
  const x = nk.randomNormal(c.shape, { mean: 1, stddev: 0.5, seed: 7 });
  const dy = nk.randomNormal(c.shape, { seed: 8 });
  const bshape = c.shape.map((d, i) => (i === ax ? d : 1));
  const row = nk.randomNormal(bshape, { seed: 9 });
  const xd = x.dataSync() as Float32Array;
  const outer = c.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const inner = c.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const layout = { outer, channels: C, inner };
  const gamma = new Float32Array(C).fill(1);
  const beta = new Float32Array(C);
  const add = (r: string, stat: Stat | null, extra: Partial<Row> = {}): void => void rows.push({ case: c.name, row: r, stat, ...extra });

  const kOut = { y: new Float32Array(size), mean: new Float32Array(C), variance: new Float32Array(C), invStd: new Float32Array(C) };
  add('kernel API train (out)', time(() => void nk.kernels.batchNormTrain(xd, layout, { gamma, beta, epsilon: 1e-3, out: kOut })));
  const iOut = new Float32Array(size);
  add('kernel API infer (out)', time(() => void nk.kernels.batchNormInfer(xd, layout, { mean: beta, variance: gamma, gamma, beta, epsilon: 1e-3, out: iOut })));

  const net = new nk.layers.BatchNormalization({ axis: c.axis });
  net.apply(x);
  add('layer.apply infer (no out)', time(() => void net.apply(x)));
  add('layer.apply infer in tidy', time(() => tidy(() => net.apply(x))));
  add('layer.apply train (no out)', time(() => void net.apply(x, { training: true })));
  add('layer.apply train in tidy', time(() => tidy(() => net.apply(x, { training: true }))));

  const gradStep = (): void => {
    const tape = new nk.GradientTape();
    tape.watch(x);
    const loss = tape.record(() => nk.sum(nk.mul(net.apply(x, { training: true }), dy)));
    tape.gradient(loss, [x, ...net.trainableVariables] as never);
  };
  add('forward+gradient (x,gamma,beta) in tidy', time(() => tidy(() => gradStep())));

  const opt = new nk.optimizers.SGD({ learningRate: 1e-2 });
  const fullStep = (): void => {
    const tape = new nk.GradientTape();
    const loss = tape.record(() => nk.sub(nk.mean(nk.square(net.apply(x, { training: true }))), 1));
    const grads = tape.gradient(loss, net.trainableVariables);
    opt.applyGradients(nk.zip(grads, net.trainableVariables));
  };
  add('tutorial full step in tidy', time(() => tidy(() => fullStep())));

  const copy = copyGBs(size);
  add('copy roofline (GB/s)', null, { note: copy.toFixed(2) });
  const ops: [string, () => unknown, number][] = [
    ['op mul(x,dy)', () => nk.mul(x, dy), 12],
    ['op add(x,1)', () => nk.add(x, 1), 8],
    ['op mul(x,row)', () => nk.mul(x, row), 8],
    ['op exp(x)', () => nk.exp(x), 8],
    ['op sigmoid(x)', () => nk.sigmoid(x), 8],
    ['op tanh(x)', () => nk.tanh(x), 8],
    ['op sum(x)', () => nk.sum(x), 4],
    ['op mean(x,all axes)', () => nk.mean(x, c.shape.map((_, i) => i)), 4],
  ];
  for (const [name, f, bpe] of ops) {
    const s = time(() => tidy(f));
    const ceil = (bpe * size) / copy; // ns at copy bandwidth
    add(name + ' in tidy', s, { bytes: bpe * size, note: `${((ceil / s.median) * 100).toFixed(0)}% of copy roofline` });
  }
  const dyd = dy.dataSync() as Float32Array;
  const o = new Float32Array(size);
  add('ts-loop mul(x,dy)', time(() => { for (let i = 0; i < size; i++) o[i] = xd[i] * dyd[i]; }));
  add('ts-loop exp(x)', time(() => { for (let i = 0; i < size; i++) o[i] = Math.exp(xd[i]); }));
  add('ts-loop sum(x)', time(() => { let s = 0; for (let i = 0; i < size; i++) s += xd[i]; o[0] = s; }));
  nk.dispose([x, dy, row] as never);
}

// PyTorch peer: one subprocess, same shapes, results keyed by case + row.
const torch: Record<string, Stat> = {};
if (!noTorch) {
  const py = spawnSync('/usr/bin/python3', [path.join(__dirname, 'pytorch_keras.py'), JSON.stringify({ cases: CASES, quick })], { encoding: 'utf8', timeout: 600_000 });
  if (py.status === 0) Object.assign(torch, JSON.parse(py.stdout.trim().split('\n').pop() as string));
  else console.error('pytorch peer failed:', py.stderr.slice(-500));
}

const TORCH_FOR: Record<string, [string, number]> = {
  'layer.apply infer in tidy': ['module eval', 1.2],
  'layer.apply train in tidy': ['module train', 1.5],
  'forward+gradient (x,gamma,beta) in tidy': ['forward+autograd', 1.5],
  'tutorial full step in tidy': ['full step SGD', 1.5],
  'op mul(x,dy) in tidy': ['mul(x,dy)', 1], 'op add(x,1) in tidy': ['add(x,1)', 1], 'op mul(x,row) in tidy': ['mul(x,row)', 1],
  'op exp(x) in tidy': ['exp(x)', 1], 'op sigmoid(x) in tidy': ['sigmoid(x)', 1], 'op tanh(x) in tidy': ['tanh(x)', 1],
  'op sum(x) in tidy': ['sum(x)', 1], 'op mean(x,all axes) in tidy': ['mean(x)', 1],
};

const us = (n: number): string => (n / 1000).toFixed(1);
const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
console.log(`machine: ${cpu}, ${os.cpus().length} cores, node ${process.version}, ${nk.backendInfo().isa ?? ''} (shared host: timings noisy)\n`);
console.log('| case | row | median us | p10-p90 us | faults/step | PyTorch median us | ratio vs PyTorch | target | note |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const kernel = rows.find((k) => k.case === r.case && k.row === (r.row.includes('infer') ? 'kernel API infer (out)' : 'kernel API train (out)'));
  const targets: string[] = [];
  let torchCell = '', ratioCell = '';
  const tmap = TORCH_FOR[r.row];
  if (r.stat && tmap && torch[`${r.case}|${tmap[0]}`]) {
    const t = torch[`${r.case}|${tmap[0]}`];
    const ratio = t.median / r.stat.median;
    const need = r.case.startsWith('tiny') && r.row.startsWith('tutorial') ? 4 : tmap[1];
    torchCell = us(t.median);
    ratioCell = ratio.toFixed(2) + 'x';
    targets.push(`>=${need}x PyTorch ${ratio >= need ? 'PASS' : 'FAIL'}`);
  }
  if (r.stat && r.row.startsWith('layer.apply') && r.row.endsWith('in tidy') && kernel?.stat) {
    const k = r.stat.median / kernel.stat.median;
    targets.push(`<=1.15x kernel API (${k.toFixed(2)}x) ${k <= 1.15 ? 'PASS' : 'FAIL'}`);
  }
  if (r.stat && r.row.startsWith('op ') && r.note) {
    const pct = Number.parseFloat(r.note);
    targets.push(`>=80% roofline ${pct >= 80 ? 'PASS' : 'FAIL'}`);
  }
  if (r.stat && (r.row.startsWith('tutorial') || r.row.startsWith('forward+gradient') || r.row === 'layer.apply train in tidy')) {
    targets.push(`<50 faults ${r.stat.faults < 50 ? 'PASS' : 'FAIL'}`);
  }
  const s = r.stat;
  console.log(`| ${r.case} | ${r.row} | ${s ? us(s.median) : ''} | ${s ? `${us(s.p10)}-${us(s.p90)}` : ''} | ${s ? s.faults.toFixed(1) : ''} | ${torchCell} | ${ratioCell} | ${targets.join('; ')} | ${r.note ?? ''} |`);
}
