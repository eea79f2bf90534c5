import { describe, expect, it } from 'vitest';
import { concat, expandDims, reshape, squeeze, transpose } from '../../lib/ops/shape.js';
import { tensor, Tensor } from '../../lib/core/tensor.js';
import { checkGradients, randomTensor } from '../gradcheck.js';
import { expectError } from '../helpers.js';

/** Reference transpose: out[idx] = x[idx permuted back], by explicit index arithmetic. */
function refTranspose(x: Tensor, perm: number[]): number[] {
  const shape = perm.map((p) => x.shape[p]);
  const strides = x.shape.map((_, d) => x.shape.slice(d + 1).reduce((p, n) => p * n, 1));
  const size = x.size;
  const out: number[] = [];
  for (let flat = 0; flat < size; flat++) {
    let rem = flat;
    let src = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const idx = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      src += idx * strides[perm[d]];
    }
    out.push(x.data[src]);
  }
  return out;
}

describe('reshape', () => {
  it('rejects bad shapes and element-count mismatches', () => {
    const x = tensor([1, 2, 3, 4, 5, 6]);
    expectError(() => reshape(x, [2, 'x'] as never), TypeError, 'reshape: expected shape as an array of integers, got an array of length 2');
    expectError(() => reshape(x, [-1, -1]), RangeError, 'reshape: expected shape of non-negative integers with at most one -1, got [-1,-1]');
    expectError(() => reshape(x, [4, 2]), RangeError, 'reshape: expected a shape with 6 elements (input shape [6]), got [4,2]');
    expectError(() => reshape(x, [4, -1]), RangeError, 'reshape: expected a shape whose -1 can be inferred for 6 elements (input shape [6]), got [4,-1]');
    expectError(() => reshape(x, [0, -1]), RangeError, /can be inferred/);
  });

  it('infers -1, keeps row-major order, and copies the data', () => {
    const x = tensor([1, 2, 3, 4, 5, 6]);
    const y = reshape(x, [2, -1]);
    expect(y.shape).toEqual([2, 3]);
    expect(y.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(y.data).not.toBe(x.data);
    expect(reshape(tensor([5]), []).shape).toEqual([]);
  });

  it('has finite-difference gradients', () => {
    checkGradients((t) => reshape(t, [3, -1]), [randomTensor([2, 3, 2], 1)]);
  });
});

describe('transpose', () => {
  it('rejects a perm that is not a permutation of the axes', () => {
    const x = tensor([[1, 2]]);
    expectError(() => transpose(x, [0, 0]), RangeError, 'transpose: expected perm as a permutation of [0..1] for a tensor of rank 2, got [0,0]');
    expectError(() => transpose(x, [0]), RangeError, 'transpose: expected perm as a permutation of [0..1] for a tensor of rank 2, got [0]');
    expectError(() => transpose(x, 'ab' as never), TypeError, 'transpose: expected perm as an array of integers, got "ab"');
  });

  it('matches an index-arithmetic reference for every permutation of a rank-4 tensor', () => {
    const x = randomTensor([2, 3, 4, 5], 3);
    const perms: number[][] = [];
    const build = (prefix: number[]): void => {
      if (prefix.length === 4) perms.push(prefix);
      for (let d = 0; d < 4; d++) if (!prefix.includes(d)) build([...prefix, d]);
    };
    build([]);
    for (const p of perms) {
      const y = transpose(x, p);
      expect(y.shape).toEqual(p.map((d) => x.shape[d]));
      expect(Array.from(y.data)).toEqual(refTranspose(x, p));
    }
    expect(transpose(tensor([[1, 2, 3]])).toArray()).toEqual([[1], [2], [3]]);
  });

  it('has finite-difference gradients', () => {
    checkGradients((t) => transpose(t, [2, 0, 1]), [randomTensor([2, 3, 4], 2)]);
  });
});

describe('expandDims / squeeze', () => {
  it('reject out-of-range axes and squeezing a dimension that is not 1', () => {
    expectError(() => expandDims(tensor([1, 2]), 3), RangeError, 'expandDims: expected axis in [-2, 1] for a tensor of rank 1, got 3');
    expectError(() => expandDims(tensor([1, 2]), 0.5), TypeError, 'expandDims: expected axis as an integer, got 0.5');
    expectError(() => squeeze(tensor([[1, 2]]), 1), RangeError, 'squeeze: expected axis 1 of size 1, got size 2 in shape [1,2]');
    expectError(() => squeeze(tensor([[1, 2]]), 2), RangeError, 'squeeze: expected axis in [-2, 1] for a tensor of rank 2, got 2');
  });

  it('insert and remove size-1 dimensions', () => {
    expect(expandDims(tensor([1, 2]), -1).shape).toEqual([2, 1]);
    expect(expandDims(tensor([1, 2])).shape).toEqual([1, 2]);
    const z = new Tensor(new Float32Array(3), [1, 3, 1]);
    expect(squeeze(z).shape).toEqual([3]);
    expect(squeeze(z, -1).shape).toEqual([1, 3]);
  });

  it('have finite-difference gradients', () => {
    checkGradients((t) => expandDims(t, 1), [randomTensor([2, 3], 4)]);
    checkGradients((t) => squeeze(t), [randomTensor([2, 1, 3], 5)]);
  });
});

describe('concat', () => {
  it('rejects empty input, rank and dimension mismatches', () => {
    expectError(() => concat([]), TypeError, 'concat: expected tensors as a non-empty array, got []');
    expectError(() => concat([tensor([[1, 2]]), tensor([[1, 2, 3]])], 0), RangeError, 'concat: expected tensors[1] to match shape [1,2] except on axis 0, got a float32 tensor of shape [1,3]');
    expectError(() => concat([tensor([1])], 1), RangeError, 'concat: expected axis in [-1, 0] for tensors of rank 1, got 1');
  });

  it('joins along any axis and promotes dtypes', () => {
    const a = tensor([[1, 2], [3, 4]]);
    const b = tensor([[5], [6]], undefined, 'float64');
    const c = concat([a, b], -1);
    expect(c.dtype).toBe('float64');
    expect(c.toArray()).toEqual([[1, 2, 5], [3, 4, 6]]);
    expect(concat([a, tensor([[7, 8]])]).toArray()).toEqual([[1, 2], [3, 4], [7, 8]]);
  });

  it('has finite-difference gradients', () => {
    checkGradients((a, b) => concat([a, b], 1), [randomTensor([2, 2, 3], 6), randomTensor([2, 1, 3], 7)]);
  });
});
