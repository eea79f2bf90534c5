import { afterEach, describe, expect, it, vi } from 'vitest';
import * as nk from '../../lib/index.js';
import { expectClose, expectError, uniform } from '../helpers.js';

describe('SGD#constructor', () => {
  it('rejects bad hyper-parameters', () => {
    expectError(() => new nk.optimizers.SGD({ learningRate: NaN }), RangeError, 'SGD: expected learningRate finite and >= 0, got NaN');
    expectError(() => new nk.optimizers.SGD({ learningRate: -1 }), RangeError, 'SGD: expected learningRate finite and >= 0, got -1');
    expectError(() => new nk.optimizers.SGD({ learningRate: '0.1' as never }), TypeError, 'SGD: expected learningRate as a number or a LearningRateSchedule, got "0.1"');
    expectError(() => new nk.optimizers.SGD({ momentum: 1.1 }), RangeError, 'SGD: expected momentum in [0, 1], got 1.1');
    expectError(() => new nk.optimizers.SGD({ nesterov: 'yes' as never }), TypeError, 'SGD: expected nesterov as a boolean, got "yes"');
    expectError(() => new nk.optimizers.SGD({ lr: 0.1, learningRate: 0.1 }), RangeError, 'SGD: expected either learningRate or the deprecated lr, got both');
  });

  afterEach(() => vi.restoreAllMocks());

  it('accepts the legacy lr with a DeprecationWarning', () => {
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const opt = new nk.optimizers.SGD({ lr: 0.05 });
    expect(opt.learningRate).toBe(0.05);
    // The warning is emitted once per process; an earlier test file may have triggered it.
    for (const call of spy.mock.calls) expect(String(call[0])).toMatch(/`lr` option is deprecated/);
  });
});

describe('SGD#applyGradients', () => {
  it('rejects bad pairs and changes nothing when one pair is bad', () => {
    const a = new nk.Variable(nk.tensor([1, 2, 3]), { name: 'a:0' });
    const b = new nk.Variable(nk.tensor([4, 5]), { name: 'b:0' });
    const frozen = new nk.Variable(nk.tensor([1]), { name: 'f:0', trainable: false });
    const opt = new nk.optimizers.SGD({ learningRate: 0.1, momentum: 0.9 });
    expectError(() => opt.applyGradients(5 as never), TypeError, 'SGD.applyGradients: expected an iterable of [gradient, variable] pairs, got 5');
    expectError(() => opt.applyGradients([[nk.ones([3]), a], [nk.ones([3]), b]]), RangeError, "SGD.applyGradients: expected a float32 gradient of shape [2] for 'b:0', got a float32 tensor of shape [3]");
    expectError(() => opt.applyGradients([[nk.ones([3], 'float64'), a]]), RangeError, /expected a float32 gradient of shape \[3\] for 'a:0', got a float64 tensor/);
    expectError(() => opt.applyGradients([[null, a]]), RangeError, 'SGD.applyGradients: expected at least one non-null gradient, got only null gradients');
    expectError(() => opt.applyGradients([[nk.ones([1]), frozen]]), RangeError, /expected trainable variables, got 'f:0'/);
    expectError(() => opt.applyGradients([[nk.ones([3]), a], [nk.ones([3]), a]]), RangeError, /expected each variable once/);
    expectError(() => opt.applyGradients([[nk.ones([3]), 'a' as never]]), TypeError, /pairs\[0\]\[1\] as a Variable/);
    expect(Array.from(a.read().data)).toEqual([1, 2, 3]);
    expect(Array.from(b.read().data)).toEqual([4, 5]);
    expect(opt.iterations).toBe(0);
  });

  for (const dtype of ['float32', 'float64'] as const) {
    for (const [momentum, nesterov] of [[0, false], [0.9, false], [0.9, true], [0.5, true]] as const) {
      it(`follows Keras' update rule (${dtype}, momentum ${momentum}, nesterov ${nesterov})`, () => {
        const n = 37;
        const start = uniform(n, 1);
        const v = new nk.Variable(nk.tensor(start, [n], dtype), { name: 'v:0' });
        const opt = new nk.optimizers.SGD({ learningRate: 0.03, momentum, nesterov });
        const ref = Float64Array.from(start);
        const vel = new Float64Array(n);
        for (let step = 0; step < 5; step++) {
          const g = uniform(n, 100 + step);
          opt.applyGradients([[nk.tensor(g, [n], dtype), v]]);
          for (let i = 0; i < n; i++) {
            if (momentum === 0) ref[i] -= 0.03 * g[i];
            else {
              vel[i] = momentum * vel[i] - 0.03 * g[i];
              ref[i] += nesterov ? momentum * vel[i] - 0.03 * g[i] : vel[i];
            }
          }
        }
        expectClose(v.read().data, ref, dtype === 'float32' ? 1e-5 : 1e-13, dtype === 'float32' ? 1e-6 : 1e-14);
        expect(opt.iterations).toBe(5);
      });
    }
  }

  it('skips variables whose gradient is null', () => {
    const a = new nk.Variable(nk.tensor([1, 2]), { name: 'a:0' });
    const b = new nk.Variable(nk.tensor([3]), { name: 'b:0' });
    new nk.optimizers.SGD({ learningRate: 0.5 }).applyGradients(nk.zip([nk.tensor([2, 2]), null], [a, b]));
    expect(Array.from(a.read().data)).toEqual([0, 1]);
    expect(Array.from(b.read().data)).toEqual([3]);
  });
});

describe('zip', () => {
  it('pairs arrays and rejects different lengths', () => {
    expect(nk.zip([1, 2], ['a', 'b'])).toEqual([[1, 'a'], [2, 'b']]);
    expectError(() => nk.zip([1], [1, 2]), RangeError, 'zip: expected arrays of the same length, got 1 and 2');
  });
});
