// The gradient registry (lib/autodiff/registry.ts): every op name a forward
// records has a registered gradient, and the backward contract holds for
// each of them — writing into given buffers and skipping unneeded inputs
// give bit-for-bit the gradients of the plain path.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { GradientTape } from '../../lib/autodiff/tape.js';
import { deliver, getGradient, registerGradient, registeredGradients, type RecordedOp } from '../../lib/autodiff/registry.js';
import { Tensor } from '../../lib/core/tensor.js';
import { uniform } from '../helpers.js';

const OP_NAMES = [
  'Abs', 'Add', 'BatchNormInfer', 'BatchNormTrain', 'BroadcastTo', 'Cast', 'Concat', 'Div', 'Exp', 'ExpandDims',
  'GhostBatchNormTrain', 'GroupNorm', 'LayerNorm', 'Log', 'Max', 'Maximum', 'Mean', 'Min', 'Minimum', 'Moments', 'Mul',
  'Neg', 'Pow', 'Relu', 'Reshape', 'Sigmoid', 'Sqrt', 'Square', 'Squeeze', 'Sub', 'Sum', 'Tanh', 'Transpose',
];

/** The tape's records (private state, read here only to drive the backward contract directly). */
function recordsOf(tape: GradientTape): readonly RecordedOp[] {
  return (tape as unknown as { nodes: RecordedOp[] }).nodes;
}

function randomLike(t: Tensor, seed: number): Tensor {
  return new nk.Tensor(t.dtype === 'float32' ? Float32Array.from(uniform(t.size, seed)) : uniform(t.size, seed), t.shape);
}

function bits(t: Tensor | null): string {
  if (t === null) return 'null';
  return `${t.dtype}[${t.shape.join(',')}]:${Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex')}`;
}

/** Runs `forward` on a persistent tape that watches `sources`, and returns every record it kept. */
function record(forward: () => unknown, ...sources: (Tensor | nk.Variable)[]): readonly RecordedOp[] {
  const tape = new GradientTape({ persistent: true });
  tape.watch(sources);
  tape.record(forward);
  return recordsOf(tape);
}

const x = nk.randomNormal([4, 3, 2, 5], { mean: 1, stddev: 0.5, seed: 3 });
const x64 = nk.cast(x, 'float64');
const row = nk.add(nk.abs(nk.randomNormal([5], { seed: 4 })), 0.5);

/** A forward per family, between them every registered op name. */
const FORWARDS: [string, () => readonly RecordedOp[]][] = [
  ['binary ops', () => record(() => [nk.add(x, row), nk.sub(x, row), nk.mul(x, row), nk.div(x, row), nk.pow(nk.abs(x), row), nk.maximum(x, row), nk.minimum(x64, row)], x, row)],
  ['unary ops', () => record(() => [nk.neg, nk.square, nk.sqrt, nk.exp, nk.log, nk.abs, nk.sigmoid, nk.relu, nk.tanh].map((f) => f(nk.abs(x))), x)],
  ['reductions', () => record(() => [nk.sum(x, [0, 2]), nk.mean(x, -1, true), nk.max(x, 1), nk.min(x)], x)],
  ['shape ops', () => record(() => [nk.reshape(x, [12, -1]), nk.transpose(x, [3, 1, 0, 2]), nk.expandDims(x, 2), nk.squeeze(nk.reshape(x, [1, 120])), nk.concat([x, x64, x], 2), nk.broadcastTo(row, [2, 3, 5]), nk.cast(x, 'float64')], x, row)],
  ['moments', () => record(() => {
    const m = nk.moments(x, [0, 2, 3]);
    return nk.add(m.mean, m.variance);
  }, x)],
  ['batch normalization', () => {
    const bn = new nk.layers.BatchNormalization({ axis: 1 });
    const ghost = new nk.layers.BatchNormalization({ virtualBatchSize: 2 });
    const noGamma = new nk.layers.BatchNormalization({ scale: false });
    return record(() => [bn.apply(x, { training: true }), bn.apply(x), ghost.apply(x, { training: true }), noGamma.apply(x, { training: true })], x);
  }],
  ['layer and group normalization', () => {
    const ln = new nk.layers.LayerNormalization({ axis: [1, 3] });
    const rms = new nk.layers.LayerNormalization({ rmsScaling: true });
    const gn = new nk.layers.GroupNormalization({ groups: 5 });
    return record(() => [ln.apply(x), rms.apply(x), gn.apply(x), new nk.layers.LayerNormalization({ center: false }).apply(nk.zeros([0, 3]))], x);
  }],
];

describe('registerGradient', () => {
  it('refuses a second gradient for a registered op name', () => {
    expect(() => registerGradient({ opName: 'Mul', backward: () => [null, null] })).toThrow(
      "registerGradient: expected a new op name, got 'Mul' registered twice",
    );
  });
});

describe('gradient registry', () => {
  it('has a gradient for every op name the forwards record', () => {
    expect(registeredGradients()).toEqual(OP_NAMES);
    const recorded = new Set(FORWARDS.flatMap(([, run]) => run().map((r) => r.opName)));
    expect([...recorded].sort()).toEqual(OP_NAMES);
  });

  it('has a gradient for every op name written in lib/ops', () => {
    const dir = path.resolve(__dirname, '../../lib/ops');
    const source = readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
    // recordOp('Name', ...), recordBackward('Name', ...), binaryOp('api', 'Name', ...), extreme('api', 'Name', ...)
    const names = [...source.matchAll(/(?:recordOp|recordBackward)\('(\w+)'|(?:binaryOp|unaryOp|extreme)\('\w+', '(\w+)'/g)].map((m) => m[1] ?? m[2]);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) expect(getGradient(name), name).toBeDefined();
  });
});

describe('GradientFn contract', () => {
  for (const [family, run] of FORWARDS) {
    it(`${family}: writing into given buffers and skipping unneeded inputs change no value`, () => {
      for (const op of run()) {
        const { backward } = getGradient(op.opName)!;
        const dys = op.outputs.map((o, k) => randomLike(o, 100 + k));
        const all = op.inputs.map(() => true);
        const plain = backward(dys, op, { needed: all });
        expect(plain.length, op.opName).toBe(op.inputs.length);

        // Destinations start as NaN so a value not written shows.
        const out = op.inputs.map((t) => new nk.Tensor(t.dtype === 'float32' ? new Float32Array(t.size).fill(NaN) : new Float64Array(t.size).fill(NaN), t.shape));
        const written = backward(dys, op, { needed: all, out });
        op.inputs.forEach((_, i) => {
          if (plain[i] === null) return;
          expect(written[i], `${op.opName} input ${i}`).toBe(out[i]);
          expect(bits(out[i]), `${op.opName} input ${i}`).toBe(bits(plain[i]));
        });

        op.inputs.forEach((_, i) => {
          const only = backward(dys, op, { needed: op.inputs.map((__, j) => j === i) });
          expect(bits(only[i]), `${op.opName} input ${i} alone`).toBe(bits(plain[i]));
          only.forEach((g, j) => {
            if (j !== i) expect(g, `${op.opName} input ${j} not needed`).toBeNull();
          });
        });
      }
    });
  }
});

describe('deliver', () => {
  it('returns the gradient, or writes it into the destination and returns that', () => {
    const g = nk.tensor([1, 2]);
    const dest = nk.zeros([2]);
    expect(deliver(g, undefined)).toBe(g);
    expect(deliver(null, dest)).toBeNull();
    expect(deliver(g, dest)).toBe(dest);
    expect(Array.from(dest.data)).toEqual([1, 2]);
  });
});
