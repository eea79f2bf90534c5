import { describe, expect, it } from 'vitest';
import { fill, ones, onesLike, randomNormal, randomUniform, zeros, zerosLike } from '../../lib/core/creation.js';
import { RandomGenerator } from '../../lib/core/random.js';
import { tensor } from '../../lib/core/tensor.js';
import { expectError } from '../helpers.js';

describe('zeros / ones / fill', () => {
  it('reject bad shapes, dtypes and fill values', () => {
    expectError(() => zeros([2, -1]), RangeError, 'zeros: expected shape as an array of non-negative integers, got [2,-1]');
    expectError(() => ones(3 as never), TypeError, 'ones: expected shape as an array of non-negative integers, got 3');
    expectError(() => zeros([2], 'int32' as never), TypeError, `zeros: expected dtype 'float32' or 'float64', got "int32"`);
    expectError(() => fill([2], '1' as never), TypeError, 'fill: expected value as a number, got "1"');
  });

  it('create constant tensors of the requested dtype', () => {
    expect(zeros([2, 3]).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(zeros([2]).dtype).toBe('float32');
    expect(ones([2], 'float64').dtype).toBe('float64');
    expect(ones([]).toArray()).toBe(1);
    expect(fill([2, 2], 0.5).toArray()).toEqual([[0.5, 0.5], [0.5, 0.5]]);
    expect(Number.isNaN(fill([1], NaN).item())).toBe(true);
    expect(zeros([0, 4]).size).toBe(0);
  });
});

describe('zerosLike / onesLike', () => {
  it('reject non-tensor-like input and bad dtypes', () => {
    expectError(() => zerosLike('x' as never), TypeError, /^zerosLike: x: expected a number/);
    expectError(() => onesLike(tensor([1]), 'f16' as never), TypeError, `onesLike: expected dtype 'float32' or 'float64', got "f16"`);
  });

  it('copy shape and dtype', () => {
    const x = tensor([[1, 2]], undefined, 'float64');
    expect(zerosLike(x).toArray()).toEqual([[0, 0]]);
    expect(zerosLike(x).dtype).toBe('float64');
    expect(onesLike(x, 'float32').dtype).toBe('float32');
    expect(onesLike(x).toArray()).toEqual([[1, 1]]);
  });
});

describe('randomNormal', () => {
  it('rejects bad options', () => {
    expectError(() => randomNormal([2], null as never), TypeError, 'randomNormal: expected an options object, got null');
    expectError(() => randomNormal([2], { mean: '1' as never }), TypeError, 'randomNormal: expected mean as a number, got "1"');
    expectError(() => randomNormal([2], { stddev: Infinity }), RangeError, 'randomNormal: expected stddev as a finite number, got Infinity');
    expectError(() => randomNormal([2], { stddev: -1 }), RangeError, 'randomNormal: expected stddev >= 0, got -1');
    expectError(() => randomNormal([2], { seed: 1.5 }), RangeError, 'randomNormal: expected seed as a safe integer, got 1.5');
    expectError(() => randomNormal([2], { dtype: 'half' as never }), TypeError, `randomNormal: expected dtype 'float32' or 'float64', got "half"`);
    expectError(() => randomNormal([-2]), RangeError, 'randomNormal: expected shape as an array of non-negative integers, got [-2]');
  });

  it('is reproducible for a seed and follows the generator stream', () => {
    const a = randomNormal([2, 4, 4, 3], { mean: 1, stddev: 0.5, seed: 42 });
    const b = randomNormal([2, 4, 4, 3], { mean: 1, stddev: 0.5, seed: 42 });
    expect(a.shape).toEqual([2, 4, 4, 3]);
    expect(a.dtype).toBe('float32');
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const rng = new RandomGenerator(42);
    expect(Array.from(a.data)).toEqual(Array.from(a.data, () => Math.fround(1 + 0.5 * rng.nextNormal())));
    expect(Array.from(randomNormal([5], { seed: 43 }).data)).not.toEqual(Array.from(randomNormal([5], { seed: 42 }).data));
    expect(Array.from(randomNormal([5]).data)).not.toEqual(Array.from(randomNormal([5]).data));
  });

  it('has the requested mean and standard deviation', () => {
    const n = 100_000;
    const x = randomNormal([n], { mean: 3, stddev: 2, seed: 1, dtype: 'float64' });
    let m = 0;
    for (const v of x.data) m += v;
    m /= n;
    let v2 = 0;
    for (const v of x.data) v2 += (v - m) ** 2;
    expect(Math.abs(m - 3)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(v2 / n) - 2)).toBeLessThan(0.03);
  });
});

describe('randomUniform', () => {
  it('rejects bad bounds', () => {
    expectError(() => randomUniform([2], { minval: 1, maxval: 1 }), RangeError, 'randomUniform: expected maxval greater than minval (1), got 1');
    expectError(() => randomUniform([2], { maxval: NaN }), RangeError, 'randomUniform: expected maxval as a finite number, got NaN');
    expectError(() => randomUniform([2], { minval: -1e308, maxval: 1e308 }), RangeError, 'randomUniform: expected maxval - minval to be finite, got Infinity');
    expectError(() => randomUniform([2], { minval: 1, maxval: 1 + 1e-12 }), RangeError, 'randomUniform: expected bounds that stay distinct in float32, got minval 1 and maxval 1.000000000001');
  });

  it('draws reproducibly within [minval, maxval)', () => {
    const x = randomUniform([10_000], { minval: -2, maxval: 3, seed: 8 });
    expect(Array.from(x.data)).toEqual(Array.from(randomUniform([10_000], { minval: -2, maxval: 3, seed: 8 }).data));
    expect(x.data.every((v) => v >= -2 && v < 3)).toBe(true);
    let m = 0;
    for (const v of x.data) m += v;
    expect(Math.abs(m / x.size - 0.5)).toBeLessThan(0.05);
  });
});
