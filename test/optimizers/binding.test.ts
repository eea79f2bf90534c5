// The addon's optimizer exports called directly: the binding's own checks
// (types, dtypes, lengths, slots, finite hyper-parameters, aliasing).
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { expectClose, expectError, uniform } from '../helpers.js';

const f32 = (n: number, seed = 1) => Float32Array.from(uniform(n, seed));
const f64 = (n: number, seed = 1) => uniform(n, seed);

describe('native.adamUpdate', () => {
  it('checks its arguments and writes nothing on a rejected call', () => {
    const v = f32(3, 1);
    const g = f32(3, 2);
    const m = new Float32Array(3);
    const s = new Float32Array(3);
    const before = Array.from(v);
    const call = (...over: [number, unknown][]) => () => {
      const args: unknown[] = [v, g, m, s, null, 0.1, 0.9, 0.999, 1e-7, 1, false];
      for (const [i, x] of over) args[i] = x;
      (native.adamUpdate as (...a: unknown[]) => void)(...args);
    };
    expectError(call([0, 5]), TypeError, 'adamUpdate: expected variable to be a Float32Array or Float64Array, got 5');
    expectError(call([2, new Float64Array(3)]), TypeError, 'adamUpdate: expected m to be a Float32Array like variable, got Float64Array');
    expectError(call([3, new Float32Array(2)]), RangeError, 'adamUpdate: expected v to have length 3 (variable.length), got 2');
    expectError(call([5, NaN]), RangeError, 'adamUpdate: expected learningRate to be a finite number, got NaN');
    expectError(call([7, Infinity]), RangeError, 'adamUpdate: expected beta2 to be a finite number, got Infinity');
    expectError(call([9, 0]), RangeError, 'adamUpdate: expected step to be a positive safe integer, got 0');
    expectError(call([9, 1.5]), RangeError, 'adamUpdate: expected step to be a positive safe integer, got 1.5');
    expectError(call([10, 'no']), TypeError, 'adamUpdate: expected amsgrad to be a boolean, got "no"');
    expectError(call([10, true]), TypeError, 'adamUpdate: expected vHat to be a Float32Array or Float64Array when amsgrad is true, got null');
    expectError(call([4, new Float32Array(3)]), TypeError, 'adamUpdate: expected vHat to be null when amsgrad is false, got a typed array');
    expectError(call([3, m]), RangeError, 'adamUpdate: expected m not to share memory with v, got overlapping arrays');
    expectError(call([2, g]), RangeError, 'adamUpdate: expected m not to share memory with grad, got overlapping arrays');
    expectError(call([11, -1], [12, 0], [13, 0]), RangeError, 'adamUpdate: expected gradScale to be a finite number >= 0 or NaN, got -1');
    expectError(call([11, 1], [12, NaN], [13, 0]), RangeError, 'adamUpdate: expected clipValue to be a finite number >= 0, got NaN');
    expectError(call([11, 1], [12, 0], [13, Infinity]), RangeError, 'adamUpdate: expected decay to be a finite number, got Infinity');
    expect(Array.from(v)).toEqual(before);
    expect(Array.from(m)).toEqual([0, 0, 0]);
    call([11, NaN], [12, 0], [13, 0])();
    expect(Array.from(v).every(Number.isNaN)).toBe(true);
  });
});

describe('native.rmspropUpdate / adagradUpdate', () => {
  it('require the slots their flags use', () => {
    const v = f64(4);
    const g = f64(4, 2);
    const vel = new Float64Array(4);
    expectError(
      () => native.rmspropUpdate(v, g, vel, null, null, 0.1, 0.9, 0.5, 1e-7, false),
      TypeError,
      'rmspropUpdate: expected moment to be a Float32Array or Float64Array when momentum > 0, got null',
    );
    expectError(
      () => native.rmspropUpdate(v, g, vel, null, null, 0.1, 0.9, 0, 1e-7, true),
      TypeError,
      'rmspropUpdate: expected averageGradient to be a Float32Array or Float64Array when centered is true, got null',
    );
    expectError(
      () => native.rmspropUpdate(v, g, vel, null, null, 0.1, 0.9, -1, 1e-7, false),
      RangeError,
      'rmspropUpdate: expected momentum to be a finite number >= 0, got -1',
    );
    expectError(
      () => native.adagradUpdate(v, v, new Float64Array(4), 0.1, 1e-7),
      RangeError,
      'adagradUpdate: expected variable not to share memory with grad, got overlapping arrays',
    );
    expectError(
      () => native.adagradUpdate(v, g, new Float32Array(4), 0.1, 1e-7),
      TypeError,
      'adagradUpdate: expected accumulator to be a Float64Array like variable, got Float32Array',
    );
  });
});

describe('native.sumOfSquares', () => {
  it('accumulates in double and checks its argument', () => {
    expect(native.sumOfSquares(Float32Array.of(3, 4))).toBe(25);
    expect(native.sumOfSquares(new Float64Array(0))).toBe(0);
    // 1e20^2 overflows float32 but not the double accumulator.
    expect(native.sumOfSquares(Float32Array.of(1e20, 1e20))).toBe(2 * Math.fround(1e20) ** 2);
    const x = f64(1001, 5);
    expect(native.sumOfSquares(x)).toBeCloseTo(x.reduce((s, v) => s + v * v, 0), 10);
    expectError(() => native.sumOfSquares([1, 2] as never), TypeError, 'sumOfSquares: expected x to be a Float32Array or Float64Array, got an Array');
  });
});

describe('native.sgdUpdate (prelude)', () => {
  it('takes the per-ISA kernel without a prelude and the fused one with it; both agree', () => {
    for (const make of [f32, f64]) {
      for (const momentum of [0, 0.9]) {
        const n = 1037;
        const g = make(n, 3);
        const a = make(n, 4);
        const b = a.slice();
        const va = momentum ? make(n, 6) : null;
        const vb = va && va.slice();
        native.sgdUpdate(a, g, va, 0.1, momentum, true);
        // A clip bound no gradient reaches: a non-identity prelude with identical math.
        native.sgdUpdate(b, g, vb, 0.1, momentum, true, 1, 1e30, 0);
        const f = a instanceof Float32Array;
        expectClose(b, a, f ? 1e-6 : 1e-14, f ? 1e-7 : 1e-15);
        if (va && vb) expectClose(vb, va, f ? 1e-6 : 1e-14, f ? 1e-7 : 1e-15);
      }
    }
  });

  it('clips, scales and decays in the fused kernel', () => {
    const v = Float64Array.of(1, 2, 3);
    native.sgdUpdate(v, Float64Array.of(10, -10, 0.1), null, 0.1, 0, false, 0.5, 1, 0.2);
    // g = clamp(0.5 * g, -1, 1) = [1, -1, 0.05]; var = var * (1 - 0.2) - 0.1 * g
    expectClose(v, [0.8 - 0.1, 1.6 + 0.1, 2.4 - 0.005], 1e-15, 1e-16);
  });
});
