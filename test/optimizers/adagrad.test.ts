import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { expectClose, expectError } from '../helpers.js';

const { Adagrad } = nk.optimizers;

describe('Adagrad#constructor', () => {
  it('rejects bad hyper-parameters', () => {
    expectError(() => new Adagrad({ initialAccumulatorValue: -0.1 }), RangeError, 'Adagrad: expected initialAccumulatorValue finite and >= 0, got -0.1');
    expectError(() => new Adagrad({ initialAccumulatorValue: NaN }), RangeError, 'Adagrad: expected initialAccumulatorValue finite and >= 0, got NaN');
    expectError(() => new Adagrad({ epsilon: Infinity }), RangeError, 'Adagrad: expected epsilon finite and >= 0, got Infinity');
    expectError(() => new Adagrad({ epsilon: null as never }), TypeError, 'Adagrad: expected epsilon as a number, got null');
  });
});

describe('Adagrad#applyGradients', () => {
  it('accumulates squared gradients from initialAccumulatorValue', () => {
    const v = new nk.Variable(nk.tensor([1], [1], 'float64'), { name: 'v:0' });
    const opt = new Adagrad({ learningRate: 0.5, initialAccumulatorValue: 1, epsilon: 0 });
    opt.applyGradients([[nk.tensor([2], [1], 'float64'), v]]);
    opt.applyGradients([[nk.tensor([2], [1], 'float64'), v]]);
    expectClose(v.read().data, [1 - 1 / Math.sqrt(5) - 1 / 3], 1e-15, 0);
    expect(opt.getSlot(v, 'accumulator')!.data[0]).toBe(9);
  });
});
