import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { expectError } from '../helpers.js';

describe('Variable', () => {
  it('rejects bad arguments and bad assignments, leaving the value unchanged', () => {
    expectError(() => new nk.Variable(nk.ones([2]), { name: '' }), TypeError, 'Variable: expected name as a non-empty string, got ""');
    expectError(() => new nk.Variable(nk.ones([2]), { dtype: 'int32' as never }), TypeError, `Variable: expected dtype 'float32' or 'float64', got "int32"`);
    const v = new nk.Variable([1, 2, 3], { name: 'v:0' });
    expectError(() => v.assign([1, 2]), RangeError, "Variable.assign: expected a value of shape [3] for variable 'v:0', got a float32 tensor of shape [2]");
    expectError(() => v.assignAdd(nk.ones([3, 1])), RangeError, /Variable.assignAdd: expected a value of shape \[3\]/);
    expect(v.toArray()).toEqual([1, 2, 3]);
  });

  it('assigns in place and bumps the version', () => {
    const v = new nk.Variable(nk.tensor([1, 2, 3]), { name: 'v:0' });
    const t = v.read();
    v.assignAdd([1, 1, 1]);
    v.assignSub(nk.tensor([0.5, 0.5, 0.5]));
    expect(v.read()).toBe(t);
    expect(t.version).toBe(2);
    expect(v.toArray()).toEqual([1.5, 2.5, 3.5]);
    const snap = v.snapshot();
    v.assign([0, 0, 0]);
    expect(snap.toArray()).toEqual([1.5, 2.5, 3.5]);
  });

  it('prints like TensorFlow', () => {
    const v = new nk.Variable(nk.ones([3]), { name: 'batch_normalization/gamma:0' });
    expect(String(v)).toBe("<tf.Variable 'batch_normalization/gamma:0' shape=(3,) dtype=float32, numpy=array([1., 1., 1.], dtype=float32)>");
    const m = new nk.Variable(nk.tensor([0.01052996, 0.00967027, 0.01049235]), { name: 'batch_normalization/moving_mean:0' });
    expect(String(m)).toBe("<tf.Variable 'batch_normalization/moving_mean:0' shape=(3,) dtype=float32, numpy=array([0.01052996, 0.00967027, 0.01049235], dtype=float32)>");
  });

  it('refuses a gradient through a value modified in place after recording', () => {
    const v = new nk.Variable(nk.tensor([1, 2], undefined, 'float64'), { name: 'w:0' });
    const tape = new nk.GradientTape();
    const loss = tape.record(() => nk.sum(nk.mul(v, v)));
    v.assign([3, 4]);
    expectError(() => tape.gradient(loss, v), RangeError, /modified in place; compute gradients before updating variables/);
  });
});
