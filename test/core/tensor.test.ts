import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { shapeSize, shapeTuple, tensor, Tensor, toTensor } from '../../lib/core/tensor.js';
import { Variable } from '../../lib/core/variable.js';
import { expectError } from '../helpers.js';

describe('Tensor', () => {
  it('rejects a buffer that is not float, or whose length does not match the shape', () => {
    expectError(() => new Tensor(new Int32Array(2) as never, [2]), TypeError, 'Tensor: expected a Float32Array or Float64Array, got Int32Array(2)');
    expectError(() => new Tensor(new Float32Array(3), [2, 2]), RangeError, 'Tensor: expected data of length 4 for shape [2,2], got length 3');
    expectError(() => new Tensor(new Float32Array(1), [-1] as never), RangeError, 'Tensor: expected shape as an array of non-negative integers, got [-1]');
    expectError(() => tensor([1, 2]).item(), RangeError, 'Tensor.item: expected a tensor with exactly one element, got shape [2]');
  });

  it('wraps data without copying, copies its shape and gives each tensor a new id', () => {
    const data = new Float64Array([1, 2, 3, 4]);
    const t = new Tensor(data, [2, 2]);
    expect(t.data).toBe(data);
    expect(t.dtype).toBe('float64');
    expect(t.rank).toBe(2);
    expect(t.size).toBe(4);
    const shape = [2, 2];
    const u = new Tensor(data, shape);
    shape[0] = 4;
    expect(u.shape).toEqual([2, 2]);
    expect(new Tensor(data, [4]).id).not.toBe(t.id);
    expect(t.toArray()).toEqual([[1, 2], [3, 4]]);
    const copy = t.dataSync();
    expect(copy).not.toBe(data);
    expect(Array.from(copy)).toEqual([1, 2, 3, 4]);
  });

  it('prints as TensorFlow prints tensors (NumPy str inside)', () => {
    expect(String(tensor([1, 2]))).toBe('tf.Tensor([1. 2.], shape=(2,), dtype=float32)');
    expect(String(tensor(1.5))).toBe('tf.Tensor(1.5, shape=(), dtype=float32)');
    expect(String(tensor([[1, 2], [3, 4]], undefined, 'float64'))).toBe('tf.Tensor(\n[[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float64)');
    expect(inspect(tensor([0.1]))).toBe('tf.Tensor([0.1], shape=(1,), dtype=float32)');
    expect(tensor([0.5, 1]).toNumpyString()).toBe('[0.5 1. ]');
  });
});

describe('tensor', () => {
  it('rejects non-numeric values, ragged arrays, bad dtypes and shape mismatches', () => {
    expectError(() => tensor('abc' as never), TypeError, 'tensor: expected a number, nested arrays of numbers, or a Float32Array/Float64Array, got "abc"');
    expectError(() => tensor([1, 'a'] as never), TypeError, 'tensor: expected numbers in the nested arrays, got "a"');
    expectError(() => tensor([[1, 2], [3]]), RangeError, 'tensor: expected a rectangular nested array (length 2 at depth 1), got [3]');
    expectError(() => tensor([1, 2], undefined, 'int8' as never), TypeError, `tensor: expected dtype 'float32' or 'float64', got "int8"`);
    expectError(() => tensor([1, 2, 3], [2, 2]), RangeError, 'tensor: expected 4 values for shape [2,2], got 3 values');
  });

  it('infers shapes, defaults to float32, keeps typed array dtypes and copies them', () => {
    expect(tensor(3).shape).toEqual([]);
    expect(tensor([[1, 2, 3]]).shape).toEqual([1, 3]);
    expect(tensor([1, 2]).dtype).toBe('float32');
    const src = new Float64Array([1, 2, 3, 4]);
    const t = tensor(src, [2, 2]);
    expect(t.dtype).toBe('float64');
    expect(t.data).not.toBe(src);
    expect(tensor(new Float64Array([1]), undefined, 'float32').dtype).toBe('float32');
    expect(Array.from(tensor([0.1]).data)).toEqual([Math.fround(0.1)]);
    expect(tensor([]).shape).toEqual([0]);
  });
});

describe('toTensor', () => {
  it('names the api and parameter on bad input, and reads variables', () => {
    expectError(() => toTensor(null as never, 'op', 'x'), TypeError, 'op: x: expected a number, nested arrays of numbers, or a Float32Array/Float64Array, got null');
    const t = tensor([1]);
    expect(toTensor(t, 'op', 'x')).toBe(t);
    const v = new Variable([1, 2], { name: 'v:0' });
    expect(toTensor(v, 'op', 'x')).toBe(v.read());
    expect(toTensor(2, 'op', 'x', 'float64').dtype).toBe('float64');
  });
});

describe('shapeSize / shapeTuple', () => {
  it('rejects non-arrays and non-integer dimensions, and prints Python tuples', () => {
    expectError(() => shapeSize('2' as never, 'zeros'), TypeError, 'zeros: expected shape as an array of non-negative integers, got "2"');
    expectError(() => shapeSize([2, 1.5], 'zeros'), RangeError, 'zeros: expected shape as an array of non-negative integers, got [2,1.5]');
    expect(shapeSize([2, 3], 'x')).toBe(6);
    expect(shapeTuple([3])).toBe('(3,)');
    expect(shapeTuple([2, 3])).toBe('(2, 3)');
    expect(shapeTuple([])).toBe('()');
  });
});
