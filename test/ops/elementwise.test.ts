import { describe, expect, it } from 'vitest';
import * as ops from '../../lib/ops/elementwise.js';
import { tensor, Tensor } from '../../lib/core/tensor.js';
import { Variable } from '../../lib/core/variable.js';
import { GradientTape } from '../../lib/autodiff/tape.js';
import { checkGradients, randomTensor, refBinary } from '../gradcheck.js';
import { expectClose, expectError } from '../helpers.js';

type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
const binaryRefs: Record<BinaryName, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  pow: (x, y) => x ** y,
  maximum: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x > y ? x : y),
  minimum: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x < y ? x : y),
};

/** Shape pairs covering same shape, scalars, trailing and leading broadcasting, and both sides stretching. */
const shapePairs: [number[], number[]][] = [
  [[2, 3], [2, 3]],
  [[2, 3], []],
  [[], [4]],
  [[2, 3, 4], [4]],
  [[2, 3, 4], [3, 1]],
  [[4, 1], [1, 5]],
  [[2, 1, 3], [4, 1]],
  [[1], [3, 2]],
];

describe('add / sub / mul / div / pow / maximum / minimum', () => {
  it('reject shapes that do not broadcast, naming the op and both shapes', () => {
    const e = (() => {
      try {
        ops.add(tensor([[1, 2, 3], [4, 5, 6]]), tensor([1, 2, 3, 4]));
      } catch (err) {
        return err as Error & { code: string };
      }
    })();
    expect(e).toBeInstanceOf(RangeError);
    expect(e?.message).toBe('add: expected broadcastable shapes, got [2,3] and [4]');
    expect(e?.code).toBe('ERR_NORMKIT_SHAPE_MISMATCH');
    expectError(() => ops.mul(tensor([1, 2]), tensor([1, 2, 3])), RangeError, 'mul: expected broadcastable shapes, got [2] and [3]');
    expectError(() => ops.maximum(tensor([[1, 2]]), tensor([[1, 2, 3]])), RangeError, 'maximum: expected broadcastable shapes, got [1,2] and [1,3]');
  });

  it('reject operands that are not tensor-like', () => {
    expectError(() => ops.add('1' as never, 1), TypeError, /^add: a: expected a number, nested arrays of numbers, or a Float32Array\/Float64Array, got "1"$/);
    expectError(() => ops.sub(tensor([1]), [[1], 2] as never), RangeError, /^sub: b: expected a rectangular nested array/);
    expectError(() => ops.div(tensor([1]), { a: 1 } as never), TypeError, /^div: b: expected a number/);
  });

  for (const name of Object.keys(binaryRefs) as BinaryName[]) {
    it(`${name} broadcasts like NumPy`, () => {
      shapePairs.forEach(([sa, sb], k) => {
        const a = randomTensor(sa, 10 + k, 0.5, 2);
        const b = randomTensor(sb, 20 + k, -1.5, 1.5);
        const out = ops[name](a, b);
        const ref = refBinary(a, b, binaryRefs[name]);
        expect(out.shape).toEqual(ref.shape);
        expect(out.dtype).toBe('float64');
        expectClose(out.data, ref.data, 1e-15, 0);
      });
    });

    it(`${name} has finite-difference gradients, also when broadcasting`, () => {
      shapePairs.forEach(([sa, sb], k) => {
        // pow needs a positive base; maximum/minimum need operands that never tie.
        const a = randomTensor(sa, 30 + k, 0.5, 2);
        const b = name === 'maximum' || name === 'minimum' ? randomTensor(sb, 40 + k, 0.55, 1.95) : randomTensor(sb, 40 + k, 0.5, 1.5);
        checkGradients((x, y) => ops[name](x, y), [a, b]);
      });
    });
  }

  it('turn numbers into scalars of the other operand dtype and promote float32 with float64', () => {
    const x32 = tensor([1, 2, 3]);
    expect(ops.mul(x32, 0.1).dtype).toBe('float32');
    expect(Array.from(ops.mul(x32, 0.1).data)).toEqual([1, 2, 3].map((v) => Math.fround(v * Math.fround(0.1))));
    expect(ops.sub(1, x32).dtype).toBe('float32');
    expect(ops.add(x32, [1, 1, 1]).dtype).toBe('float32');
    expect(ops.add(tensor([1], undefined, 'float64'), x32).dtype).toBe('float64');
    expect(ops.add(1, 2).toArray()).toBe(3);
    expect(ops.add(new Float64Array([1, 2]), 1).dtype).toBe('float64');
  });

  it('accept variables and return gradients in each input dtype', () => {
    const v = new Variable(tensor([1, 2], undefined, 'float32'), { name: 'v:0' });
    const y = tensor([[3, 4], [5, 6]], undefined, 'float64');
    const tape = new GradientTape();
    tape.watch(y);
    const out = tape.record(() => ops.mul(v, y));
    expect(out.dtype).toBe('float64');
    const [gv, gy] = tape.gradient(out, [v, y]);
    expect(gv?.dtype).toBe('float32');
    expect(Array.from(gv!.data)).toEqual([8, 10]);
    expect(gy?.toArray()).toEqual([[1, 2], [1, 2]]);
  });

  it('follow IEEE semantics for division by zero and propagate NaN through maximum/minimum', () => {
    expect(Array.from(ops.div(tensor([1, -1, 0], undefined, 'float64'), 0).data)).toEqual([Infinity, -Infinity, NaN]);
    expect(Array.from(ops.maximum(tensor([NaN, 1]), tensor([0, NaN])).data)).toEqual([NaN, NaN]);
    expect(Array.from(ops.minimum(tensor([NaN, 1]), 0).data)).toEqual([NaN, 0]);
  });

  it('send the gradient of a tie to the first operand of maximum and minimum (as TensorFlow)', () => {
    const a = tensor([1, 2], undefined, 'float64');
    const b = tensor([1, 3], undefined, 'float64');
    for (const op of [ops.maximum, ops.minimum]) {
      const tape = new GradientTape();
      tape.watch([a, b]);
      const out = tape.record(() => op(a, b));
      const [ga, gb] = tape.gradient(out, [a, b]);
      expect(ga!.data[0]).toBe(1);
      expect(gb!.data[0]).toBe(0);
    }
  });

  it('give pow a zero exponent gradient where the base is not positive (as TensorFlow)', () => {
    const a = tensor([-2, 0, 2], undefined, 'float64');
    const b = tensor([2, 2, 2], undefined, 'float64');
    const tape = new GradientTape();
    tape.watch([a, b]);
    const out = tape.record(() => ops.pow(a, b));
    expect(Array.from(out.data)).toEqual([4, 0, 4]);
    const [ga, gb] = tape.gradient(out, [a, b]);
    expect(Array.from(ga!.data)).toEqual([-4, 0, 4]);
    expectClose(gb!.data, [0, 0, 4 * Math.log(2)], 1e-15, 0);
    const a32 = tensor([-2, 0, 2]);
    const b32 = tensor([2, 2, 2]);
    const tape32 = new GradientTape();
    tape32.watch([a32, b32]);
    const gb32 = tape32.gradient(tape32.record(() => ops.pow(a32, b32)), [a32, b32])[1];
    expect(Array.from(gb32!.data)).toEqual([0, 0, Math.fround(4 * Math.fround(Math.log(2)))]);
  });
});

const unaryRefs = {
  neg: (x: number) => -x,
  square: (x: number) => x * x,
  sqrt: Math.sqrt,
  exp: Math.exp,
  log: Math.log,
  abs: Math.abs,
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  relu: (x: number) => Math.max(x, 0),
  tanh: Math.tanh,
} as const;
type UnaryName = keyof typeof unaryRefs;

describe('neg / square / sqrt / exp / log / abs / sigmoid / relu / tanh', () => {
  it('reject inputs that are not tensor-like', () => {
    expectError(() => ops.exp(undefined as never), TypeError, /^exp: x: expected a number, nested arrays of numbers/);
    expectError(() => ops.relu([[1, 2], [3]]), RangeError, /^relu: x: expected a rectangular nested array/);
  });

  for (const name of Object.keys(unaryRefs) as UnaryName[]) {
    it(`${name} matches Math in float64 and rounds once in float32`, () => {
      // Positive values for sqrt/log; values of both signs, away from 0, for the rest.
      const positive = name === 'sqrt' || name === 'log';
      const x = randomTensor([3, 5], 7, positive ? 0.1 : -3, 3);
      const out = ops[name](x);
      expect(out.shape).toEqual([3, 5]);
      expectClose(out.data, Array.from(x.data, unaryRefs[name]), 1e-15, 0);
      const x32 = new Tensor(Float32Array.from(x.data), x.shape);
      const out32 = ops[name](x32);
      expect(out32.dtype).toBe('float32');
      expect(Array.from(out32.data)).toEqual(Array.from(x32.data, (v) => Math.fround(unaryRefs[name](v))));
    });

    it(`${name} has finite-difference gradients`, () => {
      const positive = name === 'sqrt' || name === 'log';
      // Keep relu/abs away from their kink at 0.
      const x = randomTensor([2, 3, 2], 11, positive ? 0.2 : -2, 2).data.map((v) => (Math.abs(v) < 0.05 ? 0.3 : v));
      checkGradients((t) => ops[name](t), [new Tensor(x, [2, 3, 2])]);
    });
  }

  it('keep sigmoid finite for large magnitudes and relu/abs gradients zero at 0', () => {
    expect(Array.from(ops.sigmoid(tensor([-1000, 1000], undefined, 'float64')).data)).toEqual([0, 1]);
    const x = tensor([0, -1, 1], undefined, 'float64');
    for (const op of [ops.relu, ops.abs]) {
      const tape = new GradientTape();
      tape.watch(x);
      const g = tape.gradient(tape.record(() => op(x)), x);
      expect(g!.data[0]).toBe(0);
    }
    expect(Object.is(ops.relu(tensor([-0], undefined, 'float64')).data[0], 0)).toBe(true);
    expect(Number.isNaN(ops.relu(tensor([NaN])).data[0])).toBe(true);
  });
});

describe('equal', () => {
  it('rejects incompatible shapes and returns a 0/1 mask with broadcasting', () => {
    expectError(() => ops.equal(tensor([1, 2]), tensor([1, 2, 3])), RangeError, 'equal: expected broadcastable shapes, got [2] and [3]');
    expect(ops.equal(tensor([[1, 2], [2, 3]]), 2).toArray()).toEqual([[0, 1], [1, 0]]);
  });
});
