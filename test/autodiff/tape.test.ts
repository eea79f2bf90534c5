import { describe, expect, it } from 'vitest';
import { add, mul, square } from '../../lib/ops/elementwise.js';
import { sum } from '../../lib/ops/reduction.js';
import { GradientTape, isRecording } from '../../lib/autodiff/tape.js';
import { tensor } from '../../lib/core/tensor.js';
import { Variable } from '../../lib/core/variable.js';
import { expectError } from '../helpers.js';

const f64 = (values: number[]) => tensor(values, undefined, 'float64');

describe('GradientTape', () => {
  it('rejects bad options, non-functions and asynchronous record bodies', () => {
    expectError(() => new GradientTape(null as never), TypeError, 'GradientTape: expected an options object, got null');
    const tape = new GradientTape();
    expectError(() => tape.record(1 as never), TypeError, 'GradientTape.record: expected a function, got 1');
    expectError(() => tape.record(async () => 1), TypeError, 'GradientTape.record: expected a synchronous function, got a function returning a Promise');
    expectError(() => tape.watch(3 as never), TypeError, 'GradientTape.watch: expected source as a Tensor or Variable, got 3');
  });

  it('rejects a target that is not a tensor and sources it never watched', () => {
    const x = f64([1, 2]);
    const other = tensor([1, 2]);
    const tape = new GradientTape({ persistent: true });
    tape.watch(x);
    const y = tape.record(() => mul(x, x));
    expectError(() => tape.gradient(5 as never, x), TypeError, 'GradientTape.gradient: expected target as a Tensor, got 5');
    expectError(
      () => tape.gradient(y, other),
      RangeError,
      'GradientTape.gradient: expected sources that this tape watched or recorded, got a float32 tensor of shape [2] which it never saw',
    );
    const v = new Variable([1], { name: 'never:0' });
    expectError(() => tape.gradient(y, [x, v]), RangeError, /got variable 'never:0' which it never saw$/);
    expectError(() => tape.gradient(y, x, { unconnectedGradients: 'ones' as never }), RangeError, `GradientTape.gradient: expected unconnectedGradients 'none' or 'zero', got "ones"`);
  });

  it('refuses a second gradient() on a non-persistent tape, and further recording', () => {
    const x = f64([3]);
    const tape = new GradientTape();
    tape.watch(x);
    const y = tape.record(() => square(x));
    expect(tape.gradient(y, x)?.item()).toBe(6);
    const message = 'expected a persistent tape for more than one gradient() call, got a non-persistent tape that was already used';
    expectError(() => tape.gradient(y, x), RangeError, `GradientTape.gradient: ${message}`);
    expectError(() => tape.record(() => 1), RangeError, `GradientTape.record: ${message}`);
  });

  it('refuses a gradient through a tensor modified in place after it was recorded', () => {
    const v = new Variable(f64([1, 2]), { name: 'w:0' });
    const tape = new GradientTape();
    const loss = tape.record(() => sum(square(v)));
    v.assignAdd([1, 1]);
    expectError(() => tape.gradient(loss, v), RangeError, /^GradientTape.gradient: expected the inputs of op 'Square' to be unchanged since they were recorded, got input 0 \(a float64 tensor of shape \[2\]\) modified in place/);
  });

  it('allows several gradient() calls when persistent', () => {
    const x = f64([2]);
    const tape = new GradientTape({ persistent: true });
    tape.watch(x);
    const y = tape.record(() => mul(x, mul(x, x)));
    const z = tape.record(() => square(x));
    expect(tape.gradient(y, x)?.item()).toBe(12);
    expect(tape.gradient(z, x)?.item()).toBe(4);
    expect(tape.gradient(y, x)?.item()).toBe(12);
  });

  it('accumulates gradients of a tensor used several times and seeds non-scalar targets with ones', () => {
    const x = f64([1, 2, 3]);
    const tape = new GradientTape();
    tape.watch(x);
    const y = tape.record(() => add(mul(x, x), mul(x, 3)));
    expect(tape.gradient(y, x)?.toArray()).toEqual([5, 7, 9]);
  });

  it('returns null for unconnected sources, or zeros when asked', () => {
    const x = f64([1, 2]);
    const u = f64([5]);
    const tape = new GradientTape({ persistent: true });
    tape.watch([x, u]);
    const y = tape.record(() => square(x));
    expect(tape.gradient(y, [x, u])[1]).toBeNull();
    const zero = tape.gradient(y, [x, u], { unconnectedGradients: 'zero' })[1];
    expect(zero?.toArray()).toEqual([0]);
    expect(zero?.dtype).toBe('float64');
  });

  it('watches trainable variables automatically, but not non-trainable ones or with watchAccessedVariables false', () => {
    const w = new Variable(f64([2]), { name: 'w:0' });
    const frozen = new Variable(f64([3]), { name: 'frozen:0', trainable: false });
    const tape = new GradientTape({ persistent: true });
    const y = tape.record(() => mul(w, frozen));
    expect(tape.gradient(y, w)?.item()).toBe(3);
    expectError(() => tape.gradient(y, frozen), RangeError, /got variable 'frozen:0' which it never saw$/);
    const manual = new GradientTape({ watchAccessedVariables: false });
    const z = manual.record(() => mul(w, w));
    expectError(() => manual.gradient(z, w), RangeError, /got variable 'w:0' which it never saw$/);
  });

  it('nests: each tape records the ops its own watched tensors flow into', () => {
    const x = f64([3]);
    const y = f64([4]);
    const outer = new GradientTape();
    const inner = new GradientTape();
    outer.watch(x);
    const result = outer.record(() => {
      const a = square(x);
      const b = inner.record(() => {
        inner.watch(y);
        return mul(a, y);
      });
      return b;
    });
    expect(inner.gradient(result, y)?.item()).toBe(9);
    expect(outer.gradient(result, x)?.item()).toBe(24);
  });

  it('records only inside record() and not while computing gradients', () => {
    const x = f64([1]);
    expect(isRecording()).toBe(false);
    const tape = new GradientTape();
    tape.watch(x);
    const seen: boolean[] = [];
    const y = tape.record(() => {
      seen.push(isRecording());
      return square(x);
    });
    expect(seen).toEqual([true]);
    const outside = square(x);
    expect(tape.gradient(outside, x)).toBeNull();
    expect(isRecording()).toBe(false);
    expect(y.item()).toBe(1);
  });
});

describe('GradientTape#gradient with outputGradients', () => {
  it('seeds the backward pass with the given upstream gradient (a vector-Jacobian product)', () => {
    const x = tensor([1, 2, 3], undefined, 'float64');
    const dy = tensor([0.5, -1, 2], undefined, 'float64');
    const tape = new GradientTape({ persistent: true });
    tape.watch(x);
    const y = tape.record(() => mul(x, x));
    expect(Array.from(tape.gradient(y, x, { outputGradients: dy })!.data)).toEqual([1, -4, 12]);
    expect(Array.from(tape.gradient(y, x)!.data)).toEqual([2, 4, 6]);
    expectError(() => tape.gradient(y, x, { outputGradients: tensor([1, 2]) }), RangeError, "GradientTape.gradient: expected outputGradients of the target's shape [3], got a float32 tensor of shape [2]");
    expectError(() => tape.gradient(y, x, { outputGradients: [1, 2, 3] as never }), TypeError, /expected outputGradients as a Tensor/);
  });
});
