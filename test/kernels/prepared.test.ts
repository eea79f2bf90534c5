import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { expectError, uniform } from '../helpers.js';

const f32 = (n: number, seed: number, lo = -1, hi = 1) => Float32Array.from(uniform(n, seed, lo, hi));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage until `done()` (finalizers of externals run between collections), at most 20 rounds. */
async function collectUntil(done: () => boolean): Promise<boolean> {
  for (let i = 0; i < 20 && !done(); i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return done();
}

const bits = (a: Float32Array | Float64Array) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

describe('kernels.prepare*', () => {
  // Shapes: the tiny walk, channels-last on the plan, channels-first fused.
  const layouts = [
    { shape: [2, 4, 4, 3] },
    { shape: [600, 40] },
    { shape: [4, 16, 40, 40], axis: 1 },
  ];

  for (const layout of layouts) {
    it(`runs bit-identical to the one-shot calls on the current contents ${JSON.stringify(layout)}`, () => {
      const n = layout.shape.reduce((a, b) => a * b, 1);
      const C = layout.shape[layout.axis ?? layout.shape.length - 1];
      const x = f32(n, 1, -3, 4);
      const dy = f32(n, 2);
      const gamma = f32(C, 3, 0.5, 2);
      const beta = f32(C, 4);
      const train = nk.kernels.prepareBatchNormTrain(x, layout, { gamma, beta, epsilon: 1e-5 });
      const stats = nk.kernels.prepareChannelStats(x, layout);
      const f0 = train.run();
      expect(f0).toBe(train.outputs);
      const infer = nk.kernels.prepareBatchNormInfer(x, layout, { mean: f0.mean, variance: f0.variance, gamma, beta, epsilon: 1e-5 });
      const back = nk.kernels.prepareBatchNormBackward(dy, x, layout, { mean: f0.mean, invStd: f0.invStd, gamma });

      for (let round = 0; round < 3; round++) {
        // New contents in place, as a service loop would write them.
        x.set(f32(n, 10 + round, -3 + round, 4 + 1000 * round));
        dy.set(f32(n, 20 + round));
        gamma.set(f32(C, 30 + round, 0.5, 2));
        const want = nk.kernels.batchNormTrain(x, layout, { gamma, beta, epsilon: 1e-5 });
        const got = train.run();
        for (const k of ['y', 'mean', 'variance', 'invStd'] as const) expect(bits(got[k])).toEqual(bits(want[k]));
        const s = stats.run();
        const ws = nk.kernels.channelStats(x, layout);
        expect(bits(s.mean)).toEqual(bits(ws.mean));
        expect(bits(s.variance)).toEqual(bits(ws.variance));
        // infer and backward read the statistics the prepared train just wrote.
        const wi = nk.kernels.batchNormInfer(x, layout, { mean: got.mean, variance: got.variance, gamma, beta, epsilon: 1e-5 });
        expect(bits(infer.run())).toEqual(bits(wi));
        const wb = nk.kernels.batchNormBackward(dy, x, layout, { mean: got.mean, invStd: got.invStd, gamma });
        const gb = back.run();
        for (const k of ['dx', 'dgamma', 'dbeta'] as const) expect(bits(gb[k])).toEqual(bits(wb[k]));
      }
    });
  }

  it('writes the given out buffers and float64 works', () => {
    const x = Float64Array.from(uniform(24, 5));
    const out = { y: new Float64Array(24), mean: new Float64Array(3), variance: new Float64Array(3), invStd: new Float64Array(3) };
    const p = nk.kernels.prepareBatchNormTrain(x, { shape: [8, 3] }, { out });
    const r = p.run();
    expect(r.y).toBe(out.y);
    expect(r.mean).toBe(out.mean);
    expect(bits(out.y)).toEqual(bits(nk.kernels.batchNormTrain(x, { shape: [8, 3] }).y));
  });

  it('checks everything at prepare, with the one-shot messages under its own name', () => {
    const x = f32(12, 1);
    const api = 'kernels.prepareBatchNormTrain';
    expectError(() => nk.kernels.prepareBatchNormTrain(x, { shape: [4, 4] }), RangeError, `${api}: expected x of length 16, got length 12`);
    expectError(() => nk.kernels.prepareBatchNormTrain(x, { shape: [4, 3] }, { gamma: new Float64Array(3) }), TypeError, `${api}: expected gamma as a Float32Array (same dtype as x), got Float64Array(3)`);
    const shared = f32(24, 9);
    expectError(
      () => nk.kernels.prepareBatchNormTrain(shared.subarray(0, 12), { shape: [4, 3] }, { out: { y: shared.subarray(6, 18) } }),
      RangeError,
      `${api}: expected out.y to be x itself (in place) or not to share memory with it, got a partial overlap`,
    );
    // In place is allowed, as in the one-shot call.
    expect(() => nk.kernels.prepareBatchNormTrain(x, { shape: [4, 3] }, { out: { y: x } }).run()).not.toThrow();
    const mean = new Float32Array(3);
    expectError(() => nk.kernels.prepareBatchNormInfer(x, { shape: [4, 3] }, { mean, variance: new Float32Array(2) }), RangeError, 'kernels.prepareBatchNormInfer: expected variance of length 3, got length 2');
    expectError(() => nk.kernels.prepareBatchNormBackward(x, f32(11, 2), { shape: [4, 3] }, { mean, invStd: mean }), RangeError, 'kernels.prepareBatchNormBackward: expected x of length 12, got length 11');
    const big = f32(24, 3);
    expectError(() => nk.kernels.prepareChannelStats(big, { shape: [8, 3] }, { out: { mean: big.subarray(0, 3) } }), RangeError, 'kernels.prepareChannelStats: expected out.mean not to share memory with x, got overlapping arrays');
  });

  it('refuses to run once an array was transferred, and never touches its memory', () => {
    const x = f32(96, 1);
    const gamma = f32(3, 2);
    const p = nk.kernels.prepareBatchNormTrain(x, { shape: [32, 3] }, { gamma });
    p.run();
    const y = p.outputs.y;
    const before = bits(y);
    structuredClone(gamma.buffer, { transfer: [gamma.buffer] });
    expect(gamma.length).toBe(0);
    expectError(() => p.run(), TypeError, 'kernels.prepareBatchNormTrain (run): expected gamma to keep its prepared length 3 (its ArrayBuffer neither transferred nor resized), got a detached ArrayBuffer');
    expect(bits(y)).toEqual(before);
  });

  it('refuses to run once a resizable buffer shrank', () => {
    // Resizable ArrayBuffers (ES2024; in Node 20, not in this project's TS lib).
    type Resizable = ArrayBuffer & { resize(bytes: number): void };
    const Ctor = ArrayBuffer as unknown as new (bytes: number, opts: { maxByteLength: number }) => Resizable;
    const buf = new Ctor(96 * 4, { maxByteLength: 200 * 4 });
    const x = new Float32Array(buf); // length-tracking
    x.set(f32(96, 1));
    const p = nk.kernels.prepareBatchNormTrain(x, { shape: [32, 3] });
    p.run();
    buf.resize(48 * 4);
    expectError(() => p.run(), TypeError, 'kernels.prepareBatchNormTrain (run): expected x to keep its prepared length 96 (its ArrayBuffer neither transferred nor resized), got length 48');
    buf.resize(96 * 4);
    expect(() => p.run()).not.toThrow();
  });

  it('keeps its arrays alive while it lives, and releases them once dropped', async () => {
    let collected = false;
    const registry = new FinalizationRegistry(() => {
      collected = true;
    });
    const make = () => {
      const x = f32(4096, 7);
      registry.register(x, 'x');
      return nk.kernels.prepareBatchNormTrain(x, { shape: [1024, 4] });
    };
    const want = bits(nk.kernels.batchNormTrain(f32(4096, 7), { shape: [1024, 4] }).y);
    let p: ReturnType<typeof make> | null = make();
    expect(await collectUntil(() => collected)).toBe(false);
    expect(bits(p.run().y)).toEqual(want);
    p = null;
    expect(await collectUntil(() => collected)).toBe(true);
  });

  it('the raw runPrepared refuses anything but a handle of this addon', () => {
    expect(() => native.runPrepared({} as never)).toThrow(new TypeError('runPrepared: expected handle to be a prepared kernel call of this addon, got another value'));
    expect(() => (native.runPrepared as (...a: unknown[]) => void)()).toThrow(TypeError);
  });
});
