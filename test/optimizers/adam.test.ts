import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { expectClose, expectError } from '../helpers.js';

const { Adam, AdamW } = nk.optimizers;

describe('Adam#constructor', () => {
  it('rejects bad hyper-parameters', () => {
    expectError(() => new Adam({ beta1: 1 }), RangeError, 'Adam: expected beta1 in [0, 1), got 1');
    expectError(() => new Adam({ beta1: -0.1 }), RangeError, 'Adam: expected beta1 in [0, 1), got -0.1');
    expectError(() => new Adam({ beta2: NaN }), RangeError, 'Adam: expected beta2 in [0, 1), got NaN');
    expectError(() => new Adam({ beta2: '0.9' as never }), TypeError, 'Adam: expected beta2 as a number, got "0.9"');
    expectError(() => new Adam({ epsilon: -1e-7 }), RangeError, 'Adam: expected epsilon finite and >= 0, got -1e-7');
    expectError(() => new Adam({ epsilon: Infinity }), RangeError, 'Adam: expected epsilon finite and >= 0, got Infinity');
    expectError(() => new Adam({ amsgrad: 1 as never }), TypeError, 'Adam: expected amsgrad as a boolean, got 1');
  });

  it('takes epsilon 0 and beta 0', () => {
    const opt = new Adam({ epsilon: 0, beta1: 0, beta2: 0 });
    expect([opt.epsilon, opt.beta1, opt.beta2]).toEqual([0, 0, 0]);
  });
});

describe('Adam#applyGradients', () => {
  it('takes a first step of lr * sign(g) (bias correction) and keeps m, v, vHat slots', () => {
    const v = new nk.Variable(nk.tensor([1, 1, 1], [3], 'float64'), { name: 'v:0' });
    const opt = new Adam({ learningRate: 0.1, epsilon: 0, amsgrad: true });
    opt.applyGradients([[nk.tensor([2, -0.5, 1e-3], [3], 'float64'), v]]);
    expectClose(v.read().data, [0.9, 1.1, 0.9], 1e-14, 1e-15);
    expectClose(opt.getSlot(v, 'momentum')!.data, [0.2, -0.05, 1e-4], 1e-14, 0);
    expectClose(opt.getSlot(v, 'velocity')!.data, [0.004, 0.00025, 1e-9], 1e-12, 0);
    expect(Array.from(opt.getSlot(v, 'velocityHat')!.data)).toEqual(Array.from(opt.getSlot(v, 'velocity')!.data));
    expect(new Adam().slotNames()).toEqual([]);
  });

  it('AMSGrad keeps the running maximum of v', () => {
    const v = new nk.Variable(nk.tensor([0], [1], 'float64'), { name: 'v:0' });
    const opt = new Adam({ amsgrad: true, beta2: 0.5 });
    opt.applyGradients([[nk.tensor([4], [1], 'float64'), v]]);
    opt.applyGradients([[nk.tensor([0], [1], 'float64'), v]]);
    expect(opt.getSlot(v, 'velocity')!.data[0]).toBe(4);
    expect(opt.getSlot(v, 'velocityHat')!.data[0]).toBe(8);
  });
});

describe('AdamW#constructor', () => {
  it('requires a weight decay (default 0.004) and checks it', () => {
    expect(new AdamW().weightDecay).toBe(0.004);
    expect(new AdamW().name).toBe('adamw');
    expectError(() => new AdamW({ weightDecay: null as never }), TypeError, 'AdamW: expected weightDecay as a number, got null');
    expectError(() => new AdamW({ weightDecay: -0.1 }), RangeError, 'AdamW: expected weightDecay finite and >= 0, got -0.1');
    expectError(() => new AdamW({ beta1: 2 }), RangeError, 'AdamW: expected beta1 in [0, 1), got 2');
    expect(new AdamW()).toBeInstanceOf(Adam);
  });
});

describe('AdamW#applyGradients', () => {
  it('decays the weights by weightDecay * lr before the Adam step', () => {
    const v = new nk.Variable(nk.tensor([2], [1], 'float64'), { name: 'v:0' });
    new AdamW({ learningRate: 0.1, weightDecay: 0.5, epsilon: 0 }).applyGradients([[nk.tensor([3], [1], 'float64'), v]]);
    // 2 - 2 * 0.5 * 0.1 = 1.9, then the first Adam step - 0.1 * sign(3).
    expectClose(v.read().data, [1.8], 1e-15, 0);
  });
});
