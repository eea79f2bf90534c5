import { describe, expect, it } from 'vitest';
import { moments, normalize } from '../../lib/ops/moments.js';
import { add } from '../../lib/ops/elementwise.js';
import { GradientTape } from '../../lib/autodiff/tape.js';
import { tensor, Tensor } from '../../lib/core/tensor.js';
import { checkGradients, randomTensor, refBinary } from '../gradcheck.js';
import { expectClose, expectError } from '../helpers.js';

/**
 * Float64 two-pass reference: groups the elements of `x` by their index on
 * the kept axes (explicit index arithmetic, no [outer, C, inner] view).
 */
function refMoments(x: Tensor, reduced: number[]): { mean: Float64Array; variance: Float64Array } {
  const keep = x.shape.map((d, i) => (reduced.includes(i) ? 1 : d));
  const channels = keep.reduce((p, d) => p * d, 1);
  const groups: number[][] = Array.from({ length: channels }, () => []);
  for (let flat = 0; flat < x.size; flat++) {
    let rem = flat;
    let c = 0;
    let stride = 1;
    for (let d = x.rank - 1; d >= 0; d--) {
      const idx = rem % x.shape[d];
      rem = Math.floor(rem / x.shape[d]);
      c += (reduced.includes(d) ? 0 : idx) * stride;
      stride *= keep[d];
    }
    groups[c].push(x.data[flat]);
  }
  const mean = Float64Array.from(groups, (g) => g.reduce((a, b) => a + b, 0) / g.length);
  const variance = Float64Array.from(groups, (g, c) => g.reduce((a, b) => a + (b - mean[c]) ** 2, 0) / g.length);
  return { mean, variance };
}

const layouts: { name: string; shape: number[]; axes: number[]; outShape: number[] }[] = [
  { name: 'channels-last (NHWC, the tutorial)', shape: [2, 4, 4, 3], axes: [0, 1, 2], outShape: [3] },
  { name: 'channels-first (NCHW)', shape: [2, 3, 4, 5], axes: [0, 2, 3], outShape: [3] },
  { name: 'middle axes reduced (kept axes not adjacent: transposed)', shape: [2, 3, 4, 5], axes: [1, 2], outShape: [2, 5] },
  { name: 'outer and last axes reduced (adjacent channel block)', shape: [2, 3, 4, 5], axes: [0, 3], outShape: [3, 4] },
  { name: 'all axes', shape: [3, 7, 5], axes: [0, 1, 2], outShape: [] },
  { name: 'no axis', shape: [2, 3], axes: [], outShape: [2, 3] },
  { name: 'a tail long enough for vector loops', shape: [3, 37, 2], axes: [0, 2], outShape: [37] },
];

describe('moments', () => {
  it('rejects bad axes, options, and reductions over no element', () => {
    const x = tensor([[1, 2], [3, 4]]);
    expectError(() => moments(x, [2]), RangeError, 'moments: expected axes in [-2, 1] for a tensor of rank 2, got 2');
    expectError(() => moments(x, [0, -2]), RangeError, 'moments: expected distinct axes in axes, got [0,-2]');
    expectError(() => moments(x, '0' as never), TypeError, 'moments: expected axes as an integer, an array of integers, or undefined, got "0"');
    expectError(() => moments(x, 0, null as never), TypeError, 'moments: expected options as { keepDims?: boolean }, got null');
    expectError(() => moments(x, 0, { keepDims: 1 as never }), TypeError, 'moments: expected options.keepDims as a boolean, got 1');
    expectError(() => moments(new Tensor(new Float32Array(0), [0, 3]), 0), RangeError, 'moments: expected reduced axes with at least one element, got shape [0,3] reduced over [0]');
    expectError(() => moments('x' as never, 0), TypeError, /^moments: x: expected a number/);
  });

  for (const layout of layouts) {
    it(`matches a float64 reference: ${layout.name}`, () => {
      for (const dtype of ['float64', 'float32'] as const) {
        const base = randomTensor(layout.shape, 3, -2, 5);
        const x = dtype === 'float64' ? base : new Tensor(Float32Array.from(base.data), base.shape);
        const ref = refMoments(x, layout.axes);
        const { mean, variance } = moments(x, layout.axes);
        expect(mean.shape).toEqual(layout.outShape);
        expect(variance.shape).toEqual(layout.outShape);
        expect(mean.dtype).toBe(dtype);
        const tol = dtype === 'float64' ? 1e-13 : 2e-7;
        expectClose(mean.data, ref.mean, tol, tol);
        expectClose(variance.data, ref.variance, tol, tol);
        const kept = moments(x, layout.axes, { keepDims: true });
        expect(kept.mean.shape).toEqual(layout.shape.map((d, i) => (layout.axes.includes(i) ? 1 : d)));
        expectClose(kept.variance.data, ref.variance, tol, tol);
      }
    });
  }

  it('accepts negative axes and undefined (every axis)', () => {
    const x = randomTensor([2, 3, 4], 9);
    expectClose(moments(x, [-1, -3]).mean.data, refMoments(x, [0, 2]).mean, 1e-14, 0);
    expect(moments(x).mean.shape).toEqual([]);
  });

  it('stays exact to float32 rounding for data far from zero (mean 1e4, std 1)', () => {
    const n = 64 * 64;
    const base = randomTensor([n, 4], 12, -1.7, 1.7);
    const data = Float32Array.from(base.data, (v, i) => 1e4 + (i % 4) + v);
    const x = new Tensor(data, [n, 4]);
    const ref = refMoments(x, [0]);
    const { mean, variance } = moments(x, [0]);
    expectClose(mean.data, ref.mean, 1e-7, 0);
    // A one-pass E[x^2] - E[x]^2 in float32 would be off by O(1) here.
    expectClose(variance.data, ref.variance, 1e-5, 0);
  });

  it('has finite-difference gradients for mean, variance and both together', () => {
    for (const layout of layouts.slice(0, 5)) {
      const x = randomTensor(layout.shape.map((d) => Math.min(d, 3)), 21);
      checkGradients((t) => moments(t, layout.axes).mean, [x]);
      checkGradients((t) => moments(t, layout.axes).variance, [x]);
      checkGradients((t) => {
        const m = moments(t, layout.axes, { keepDims: true });
        return add(m.mean, m.variance);
      }, [x]);
    }
  });

  it('gives a variance gradient that sums to zero per channel (shifting a channel leaves it unchanged)', () => {
    const x = randomTensor([5, 2], 4);
    const tape = new GradientTape();
    tape.watch(x);
    const { variance } = tape.record(() => moments(x, 0));
    const g = tape.gradient(variance, x)!;
    const perChannel = [0, 0];
    g.data.forEach((v, i) => (perChannel[i % 2] += v));
    expectClose(perChannel, [0, 0], 0, 1e-14);
  });
});

describe('normalize', () => {
  it('rejects shapes that do not broadcast, naming normalize', () => {
    expectError(() => normalize(tensor([[1, 2, 3]]), tensor([1, 2]), 1), RangeError, 'normalize: expected broadcastable shapes, got [1,3] and [2]');
    expectError(() => normalize(tensor([[1, 2, 3]]), 0, tensor([1, 2])), RangeError, 'normalize: expected broadcastable shapes, got [1,3] and [2]');
    expectError(() => normalize(tensor([1]), 'a' as never, 1), TypeError, /^normalize: mean: expected a number/);
  });

  it('computes (x - mean) / std with broadcasting, keeping the dtype of x for plain numbers', () => {
    const x = randomTensor([4, 3], 1, 0, 4);
    const mean = randomTensor([3], 2);
    const std = randomTensor([3], 3, 0.5, 2);
    const shifted = refBinary(x, mean, (a, b) => a - b);
    const ref = refBinary(new Tensor(shifted.data, shifted.shape), std, (a, b) => a / b);
    expectClose(normalize(x, mean, std).data, ref.data, 1e-15, 0);
    const x32 = tensor([1, 2, 3]);
    const y = normalize(x32, 2, 0.5);
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.data)).toEqual([-2, 0, 2]);
  });

  it('normalizes the tutorial batch to zero mean and unit variance per channel', () => {
    const x = randomTensor([2, 4, 4, 3], 5, 0, 2);
    const { mean, variance } = moments(x, [0, 1, 2], { keepDims: true });
    const z = normalize(x, mean, new Tensor(variance.data.map(Math.sqrt), variance.shape));
    const after = moments(z, [0, 1, 2]);
    expectClose(after.mean.data, [0, 0, 0], 0, 1e-14);
    expectClose(after.variance.data, [1, 1, 1], 1e-13, 0);
  });

  it('has finite-difference gradients with respect to x, mean and std', () => {
    checkGradients((x, m, s) => normalize(x, m, s), [randomTensor([3, 2, 4], 6), randomTensor([2, 1], 7), randomTensor([4], 8, 0.5, 2)]);
  });
});
