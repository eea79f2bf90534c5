import { describe, expect, it } from 'vitest';
import { reductionAxes } from '../../lib/core/validate.js';
import { max, mean, min, sum } from '../../lib/ops/reduction.js';
import { GradientTape } from '../../lib/autodiff/tape.js';
import { tensor, Tensor } from '../../lib/core/tensor.js';
import { checkGradients, randomTensor } from '../gradcheck.js';
import { expectClose, expectError } from '../helpers.js';

/** Reference reduction by explicit index arithmetic: every output cell scans the input. */
function refReduce(x: Tensor, axes: number[], fn: (values: number[]) => number): Float64Array {
  const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const size = keep.reduce((p, d) => p * d, 1);
  const groups: number[][] = Array.from({ length: size }, () => []);
  for (let flat = 0; flat < x.size; flat++) {
    let rem = flat;
    let out = 0;
    let stride = 1;
    for (let d = x.rank - 1; d >= 0; d--) {
      const idx = rem % x.shape[d];
      rem = Math.floor(rem / x.shape[d]);
      out += (axes.includes(d) ? 0 : idx) * stride;
      stride *= keep[d];
    }
    groups[out].push(x.data[flat]);
  }
  return Float64Array.from(groups, fn);
}

const refs = {
  sum: (v: number[]) => v.reduce((a, b) => a + b, 0),
  mean: (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length,
  max: (v: number[]) => Math.max(...v),
  min: (v: number[]) => Math.min(...v),
};
const fns = { sum, mean, max, min };

const cases: { axis: number | number[] | undefined; axes: number[]; shape: number[] }[] = [
  { axis: undefined, axes: [0, 1, 2], shape: [] },
  { axis: 0, axes: [0], shape: [2, 4] },
  { axis: -1, axes: [2], shape: [3, 2] },
  { axis: [0, 2], axes: [0, 2], shape: [2] },
  { axis: [1], axes: [1], shape: [3, 4] },
  { axis: [-1, 0], axes: [0, 2], shape: [2] },
  { axis: [], axes: [], shape: [3, 2, 4] },
];

describe('reductionAxes', () => {
  it('rejects non-integer, out-of-range and repeated axes', () => {
    expectError(() => reductionAxes('sum', 'axis', '0' as never, 2), TypeError, 'sum: expected axis as an integer, an array of integers, or undefined, got "0"');
    expectError(() => reductionAxes('sum', 'axis', [0.5], 2), TypeError, 'sum: expected axis as an integer, an array of integers, or undefined, got [0.5]');
    expectError(() => reductionAxes('mean', 'axis', 2, 2), RangeError, 'mean: expected axis in [-2, 1] for a tensor of rank 2, got 2');
    expectError(() => reductionAxes('mean', 'axis', [-3], 2), RangeError, 'mean: expected axis in [-2, 1] for a tensor of rank 2, got -3');
    expectError(() => reductionAxes('max', 'axis', [1, -1], 2), RangeError, 'max: expected distinct axes in axis, got [1,-1]');
  });

  it('resolves negatives, sorts, and expands undefined to every axis', () => {
    expect(reductionAxes('sum', 'axis', [-1, 0], 3)).toEqual([0, 2]);
    expect(reductionAxes('sum', 'axis', undefined, 2)).toEqual([0, 1]);
    expect(reductionAxes('sum', 'axis', [], 2)).toEqual([]);
  });
});

describe('sum / mean / max / min', () => {
  it('reject bad keepDims and empty max/min reductions', () => {
    expectError(() => sum(tensor([1]), 0, 'yes' as never), TypeError, 'sum: expected keepDims as a boolean, got "yes"');
    expectError(() => max(new Tensor(new Float32Array(0), [0, 3]), 0), RangeError, 'max: expected reduced axes with at least one element, got shape [0,3] reduced over [0]');
    expectError(() => min(new Tensor(new Float32Array(0), [0])), RangeError, 'min: expected reduced axes with at least one element, got shape [0] reduced over [0]');
  });

  for (const name of ['sum', 'mean', 'max', 'min'] as const) {
    it(`${name} matches an index-arithmetic reference for every axis combination, with and without keepDims`, () => {
      const x = randomTensor([3, 2, 4], 5);
      for (const c of cases) {
        const out = fns[name](x, c.axis);
        expect(out.shape).toEqual(c.shape);
        expectClose(out.data, refReduce(x, c.axes, refs[name]), 1e-14, 1e-15);
        const kept = fns[name](x, c.axis, true);
        expect(kept.shape).toEqual(x.shape.map((d, i) => (c.axes.includes(i) ? 1 : d)));
      }
    });

    it(`${name} has finite-difference gradients`, () => {
      const x = randomTensor([3, 2, 4], 6);
      for (const c of cases) checkGradients((t) => fns[name](t, c.axis), [x]);
      checkGradients((t) => fns[name](t, [0, 2], true), [x]);
    });
  }

  it('accumulate float32 sums in float64 and round once', () => {
    const n = 1 << 20;
    const x = new Tensor(new Float32Array(n).fill(0.1), [n]);
    expect(sum(x).item()).toBe(Math.fround(n * Math.fround(0.1)));
    expect(mean(x).item()).toBe(Math.fround(0.1));
  });

  it('give empty sums 0 and empty means NaN', () => {
    expect(sum(new Tensor(new Float64Array(0), [0, 2]), 0).toArray()).toEqual([0, 0]);
    expect(Number.isNaN(mean(new Tensor(new Float64Array(0), [0])).item())).toBe(true);
  });

  it('propagate NaN through max and min', () => {
    expect(Array.from(max(tensor([[1, NaN], [3, 4]]), 1).data)).toEqual([NaN, 4]);
    expect(Array.from(min(tensor([[NaN, 1], [3, 4]]), 0).data)).toEqual([NaN, 1]);
  });

  it('split the max/min gradient equally between tied positions (as TensorFlow)', () => {
    const x = tensor([[1, 3, 3], [2, 0, 0]], undefined, 'float64');
    const tape = new GradientTape({ persistent: true });
    tape.watch(x);
    const m = tape.record(() => max(x, 1));
    expect(tape.gradient(m, x)?.toArray()).toEqual([[0, 0.5, 0.5], [1, 0, 0]]);
    const n = tape.record(() => min(x, 1));
    expect(tape.gradient(n, x)?.toArray()).toEqual([[1, 0, 0], [0, 0.5, 0.5]]);
  });
});
