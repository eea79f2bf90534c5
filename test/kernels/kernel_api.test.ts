import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { expectClose, expectError, refNormalize, refStats, uniform } from '../helpers.js';

const f32 = (n: number, seed: number, lo = -1, hi = 1) => Float32Array.from(uniform(n, seed, lo, hi));

describe('kernels.batchNormTrain', () => {
  it('rejects bad arguments naming the parameter', () => {
    const x = f32(12, 1);
    const api = 'kernels.batchNormTrain';
    expectError(() => nk.kernels.batchNormTrain([1, 2] as never, { shape: [2, 1] }), TypeError, `${api}: expected x as a Float32Array or Float64Array, got [1,2]`);
    expectError(() => nk.kernels.batchNormTrain(x, { shape: [4, 4] }), RangeError, `${api}: expected x of length 16, got length 12`);
    expectError(() => nk.kernels.batchNormTrain(x, { shape: [4, 3], axis: 2 }), RangeError, `${api}: expected layout.axis in [-2, 1] for input of rank 2, got 2`);
    expectError(() => nk.kernels.batchNormTrain(x, { outer: 4, channels: 3, inner: 0 }), RangeError, `${api}: expected layout.inner as a positive integer, got 0`);
    expectError(() => nk.kernels.batchNormTrain(x, { shape: [1, 12] }), RangeError, `${api}: expected more than one value per channel in training mode, got 1`);
    expectError(() => nk.kernels.batchNormTrain(x, { shape: [4, 3] }, { gamma: new Float64Array(3) }), TypeError, `${api}: expected gamma as a Float32Array (same dtype as x), got Float64Array(3)`);
    expectError(() => nk.kernels.batchNormTrain(x, { shape: [4, 3] }, { beta: new Float32Array(4) }), RangeError, `${api}: expected beta of length 3, got length 4`);
    expectError(() => nk.kernels.batchNormTrain(x, { shape: [4, 3] }, { epsilon: -1 }), RangeError, `${api}: expected epsilon finite and > 0, got -1`);
    expectError(() => nk.kernels.batchNormTrain(x, { shape: [4, 3] }, { epsilon: NaN }), RangeError, `${api}: expected epsilon finite and > 0, got NaN`);
    expectError(() => nk.kernels.batchNormTrain(x, { shape: [4, 3] }, { out: { y: new Float32Array(11) } }), RangeError, `${api}: expected out.y of length 12, got length 11`);
  });

  for (const dtype of ['float32', 'float64'] as const) {
    it(`matches the float64 reference and writes into given buffers (${dtype})`, () => {
      const [outer, channels, inner] = [3, 5, 7];
      const n = outer * channels * inner;
      const make = (len: number, seed: number, lo = -1, hi = 1) =>
        dtype === 'float32' ? f32(len, seed, lo, hi) : uniform(len, seed, lo, hi);
      const x = make(n, 2, -3, 4);
      const gamma = make(channels, 3, 0.5, 2);
      const beta = make(channels, 4);
      const y = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
      const res = nk.kernels.batchNormTrain(x, { outer, channels, inner }, { gamma, beta, epsilon: 1e-5, out: { y } });
      expect(res.y).toBe(y);
      const { mean, variance } = refStats(x, outer, channels, inner);
      const tol = dtype === 'float32' ? 2e-6 : 1e-13;
      expectClose(res.mean, mean, tol, tol);
      expectClose(res.variance, variance, tol, tol);
      expectClose(res.invStd, Array.from(variance, (v) => 1 / Math.sqrt(v + 1e-5)), tol, tol);
      expectClose(y, refNormalize(x, outer, channels, inner, mean, variance, 1e-5, gamma, beta), 4 * tol, 4 * tol);

      const yi = nk.kernels.batchNormInfer(x, { shape: [outer, channels, inner], axis: 1 }, { mean: res.mean, variance: res.variance, gamma, beta, epsilon: 1e-5 });
      expectClose(yi, y, 4 * tol, 4 * tol);

      const dy = make(n, 5);
      const back = nk.kernels.batchNormBackward(dy, x, { outer, channels, inner }, { mean: res.mean, invStd: res.invStd, gamma });
      const dbeta = new Float64Array(channels);
      const dgamma = new Float64Array(channels);
      for (let o = 0; o < outer; o++)
        for (let c = 0; c < channels; c++)
          for (let i = 0; i < inner; i++) {
            const k = (o * channels + c) * inner + i;
            dbeta[c] += dy[k];
            dgamma[c] += dy[k] * (x[k] - mean[c]) / Math.sqrt(variance[c] + 1e-5);
          }
      expectClose(back.dbeta, dbeta, 10 * tol, 10 * tol);
      expectClose(back.dgamma, dgamma, 10 * tol, 10 * tol);
      const m = outer * inner;
      const dx = new Float64Array(n);
      for (let o = 0; o < outer; o++)
        for (let c = 0; c < channels; c++)
          for (let i = 0; i < inner; i++) {
            const k = (o * channels + c) * inner + i;
            const inv = 1 / Math.sqrt(variance[c] + 1e-5);
            const xhat = (x[k] - mean[c]) * inv;
            dx[k] = gamma[c] * inv * (dy[k] - dbeta[c] / m - (xhat * dgamma[c]) / m);
          }
      expectClose(back.dx, dx, 20 * tol, 20 * tol);
    });
  }

  it('async twins give the same results and reject with the same errors', async () => {
    const x = f32(4 * 6 * 5, 9);
    const layout = { shape: [4, 6, 5], axis: 1 };
    const sync = nk.kernels.batchNormTrain(x, layout);
    const asyncRes = await nk.kernels.batchNormTrainAsync(x, layout);
    expect(Array.from(asyncRes.y)).toEqual(Array.from(sync.y));
    const stats = await nk.kernels.channelStatsAsync(x, layout);
    expect(Array.from(stats.mean)).toEqual(Array.from(sync.mean));
    const yi = await nk.kernels.batchNormInferAsync(x, layout, { mean: sync.mean, variance: sync.variance });
    expect(Array.from(yi)).toEqual(Array.from(nk.kernels.batchNormInfer(x, layout, { mean: sync.mean, variance: sync.variance })));
    const dy = f32(x.length, 10);
    const b1 = nk.kernels.batchNormBackward(dy, x, layout, { mean: sync.mean, invStd: sync.invStd });
    const b2 = await nk.kernels.batchNormBackwardAsync(dy, x, layout, { mean: sync.mean, invStd: sync.invStd });
    expect(Array.from(b2.dx)).toEqual(Array.from(b1.dx));
    await expect(nk.kernels.batchNormTrainAsync(x, { shape: [7, 6, 5] })).rejects.toThrow(RangeError);
  });

  it('keeps channel statistics exact for data far from zero (1e4 + N(0,1))', () => {
    for (const [outer, channels, inner] of [[4096, 8, 1], [8, 4, 1024]]) {
      const n = outer * channels * inner;
      const x = new Float32Array(n);
      const u = uniform(n, 77, -1.7, 1.7);
      for (let i = 0; i < n; i++) x[i] = 10000 + u[i];
      const { variance } = nk.kernels.channelStats(x, { outer, channels, inner });
      const ref = refStats(x, outer, channels, inner);
      expectClose(variance, ref.variance, 1e-6, 0);
    }
  });
});

describe('backendInfo / setNumThreads / setIsa', () => {
  it('reports the backend and rejects bad settings', () => {
    const info = nk.backendInfo();
    expect(info.isaAvailable).toContain(info.isa);
    expect(info.isaAvailable[0]).toBe('scalar');
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.napiVersion).toBeGreaterThanOrEqual(8);
    expect(Number.isInteger(info.fuseBudgetBytes) && info.fuseBudgetBytes >= 64 * 1024).toBe(true);
    expect(Number.isInteger(info.streamThresholdBytes)).toBe(true);
    expect(info.streamThresholdBytes).toBeGreaterThan(0);
    expect(info.streamThresholdBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    expectError(() => nk.setNumThreads(0), RangeError, 'setNumThreads: expected an integer in [1, 256], got 0');
    expectError(() => nk.setNumThreads(1.5), RangeError, /got 1.5/);
    expectError(() => nk.setIsa('mmx'), RangeError, /setIsa: expected one of scalar/);
  });
});

describe('kernels (the disjointness memo)', () => {
  it('a call that passed does not let a later overlapping call through', () => {
    const api = 'kernels.batchNormTrain';
    const x = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
    const big = new Float32Array(24 + 8);
    const y = big.subarray(0, 24);
    const stats = () => ({ mean: new Float32Array(3), variance: new Float32Array(3), invStd: new Float32Array(3) });
    const s = stats();
    nk.kernels.batchNormTrain(x, { shape: [8, 3] }, { out: { y, ...s } });
    nk.kernels.batchNormTrain(x, { shape: [8, 3] }, { out: { y, ...s } });
    const overlapping = big.subarray(4, 28);
    expectError(() => nk.kernels.batchNormTrain(overlapping, { shape: [8, 3] }, { out: { y, ...s } }), RangeError,
      `${api}: expected out.y to be x itself (in place) or not to share memory with it, got a partial overlap`);
    expectError(() => nk.kernels.batchNormTrain(x, { shape: [8, 3] }, { out: { y, ...s, mean: s.variance } }), RangeError,
      `${api}: expected out.mean not to share memory with out.variance, got overlapping arrays`);
  });
});
