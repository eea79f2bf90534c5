import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { expectClose, expectError } from '../helpers.js';

const { RMSprop } = nk.optimizers;

describe('RMSprop#constructor', () => {
  it('rejects bad hyper-parameters', () => {
    expectError(() => new RMSprop({ rho: 1.5 }), RangeError, 'RMSprop: expected rho in [0, 1], got 1.5');
    expectError(() => new RMSprop({ rho: NaN }), RangeError, 'RMSprop: expected rho in [0, 1], got NaN');
    expectError(() => new RMSprop({ momentum: -0.1 }), RangeError, 'RMSprop: expected momentum in [0, 1], got -0.1');
    expectError(() => new RMSprop({ epsilon: -1 }), RangeError, 'RMSprop: expected epsilon finite and >= 0, got -1');
    expectError(() => new RMSprop({ centered: 'no' as never }), TypeError, 'RMSprop: expected centered as a boolean, got "no"');
    expectError(() => new RMSprop({ decay: 0.9 } as never), TypeError, /RMSprop: expected options among .*rho.*, got unknown option 'decay'/);
  });
});

describe('RMSprop#applyGradients', () => {
  it('first step: lr * g / sqrt((1 - rho) g^2 + epsilon), centered and not', () => {
    for (const centered of [false, true]) {
      const v = new nk.Variable(nk.tensor([0, 0], [2], 'float64'), { name: 'v:0' });
      new RMSprop({ learningRate: 0.1, rho: 0.9, epsilon: 1e-3, centered }).applyGradients([[nk.tensor([2, -1], [2], 'float64'), v]]);
      const den = (g: number) => (centered ? 0.1 * g * g - (0.1 * g) ** 2 : 0.1 * g * g) + 1e-3;
      expectClose(v.read().data, [(-0.1 * 2) / Math.sqrt(den(2)), (0.1 * 1) / Math.sqrt(den(-1))], 1e-14, 0);
    }
  });

  it('with momentum, steps by the accumulated increments', () => {
    const v = new nk.Variable(nk.tensor([0], [1], 'float64'), { name: 'v:0' });
    const opt = new RMSprop({ learningRate: 0.1, rho: 0, momentum: 0.5, epsilon: 0 });
    opt.applyGradients([[nk.tensor([3], [1], 'float64'), v]]);
    opt.applyGradients([[nk.tensor([3], [1], 'float64'), v]]);
    // rho 0: increment = lr * sign(g) = 0.1; moments 0.1 then 0.15.
    expectClose(v.read().data, [-0.25], 1e-15, 0);
    expect(opt.getSlot(v, 'momentum')!.data[0]).toBeCloseTo(0.15, 15);
  });
});
