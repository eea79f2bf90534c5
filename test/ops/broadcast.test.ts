import { describe, expect, it } from 'vitest';
import { broadcastShapes, broadcastTo, planStrided, sumToShape } from '../../lib/ops/broadcast.js';
import { tensor } from '../../lib/core/tensor.js';
import { checkGradients, randomTensor, refBinary } from '../gradcheck.js';
import { expectClose, expectError } from '../helpers.js';

describe('broadcastShapes', () => {
  it('rejects incompatible shapes with the shape-mismatch code', () => {
    expectError(() => broadcastShapes([2, 3], [4], 'add'), RangeError, 'add: expected broadcastable shapes, got [2,3] and [4]');
    expectError(() => broadcastShapes([2, 1], [3, 4], 'mul'), RangeError, 'mul: expected broadcastable shapes, got [2,1] and [3,4]');
  });

  it('follows NumPy rules', () => {
    expect(broadcastShapes([2, 1, 3], [4, 1], 'add')).toEqual([2, 4, 3]);
    expect(broadcastShapes([], [3], 'add')).toEqual([3]);
    expect(broadcastShapes([0, 1], [1, 5], 'add')).toEqual([0, 5]);
    expect(broadcastShapes([5], [1, 1, 5], 'add')).toEqual([1, 1, 5]);
  });
});

describe('planStrided', () => {
  it('collapses same-shape operands into one run and scalars into stride 0', () => {
    expect(planStrided([2, 3, 4], [[2, 3, 4], [2, 3, 4]])).toEqual({ shape: [24], strides: [[1], [1]] });
    expect(planStrided([2, 3, 4], [[2, 3, 4], []])).toEqual({ shape: [24], strides: [[1], [0]] });
    expect(planStrided([2, 3, 4, 5], [[2, 3, 4, 5], [3, 1, 1]])).toEqual({ shape: [2, 3, 20], strides: [[60, 20, 1], [0, 1, 0]] });
  });
});

describe('sumToShape', () => {
  it('sums broadcast dimensions back (the adjoint of broadcasting)', () => {
    const x = randomTensor([2, 3, 4], 1);
    const summed = sumToShape(x, [3, 1]);
    const ref = new Float64Array(3);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) ref[j] += x.data[(i * 3 + j) * 4 + k];
    expect(summed.shape).toEqual([3, 1]);
    expectClose(summed.data, ref, 1e-15, 0);
    expect(sumToShape(x, [], 'float32').dtype).toBe('float32');
  });
});

describe('broadcastTo', () => {
  it('rejects shapes the input cannot stretch to', () => {
    expectError(() => broadcastTo(tensor([1, 2, 3]), [3, 2]), RangeError, 'broadcastTo: expected a shape that [3] broadcasts to, got [3,2]');
    expectError(() => broadcastTo(tensor([[1], [2]]), [2]), RangeError, 'broadcastTo: expected a shape that [2,1] broadcasts to, got [2]');
    expectError(() => broadcastTo(tensor([1]), [-1]), RangeError, 'broadcastTo: expected shape as an array of non-negative integers, got [-1]');
  });

  it('stretches like NumPy and has finite-difference gradients', () => {
    const x = randomTensor([3, 1], 2);
    const y = broadcastTo(x, [2, 3, 4]);
    const ref = refBinary(x, randomTensor([2, 3, 4], 3), (a) => a);
    expect(y.shape).toEqual(ref.shape);
    expect(Array.from(y.data)).toEqual(Array.from(ref.data));
    checkGradients((t) => broadcastTo(t, [2, 3, 4]), [x]);
  });
});
