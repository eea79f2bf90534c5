import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { expectError } from '../helpers.js';

const S = nk.optimizers.schedules;
const close = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(want)));

describe('schedules (constructors)', () => {
  it('reject bad arguments, naming the schedule and the parameter', () => {
    expectError(() => new S.ExponentialDecay(3 as never), TypeError, 'ExponentialDecay: expected an options object, got 3');
    expectError(
      () => new S.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.5 }),
      RangeError,
      'ExponentialDecay: expected decaySteps finite and > 0, got 0',
    );
    expectError(
      () => new S.ExponentialDecay({ initialLearningRate: -1, decaySteps: 1, decayRate: 0.5 }),
      RangeError,
      'ExponentialDecay: expected initialLearningRate finite and >= 0, got -1',
    );
    expectError(
      () => new S.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: NaN }),
      RangeError,
      'ExponentialDecay: expected decayRate finite and >= 0, got NaN',
    );
    expectError(
      () => new S.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5, staircase: 1 as never }),
      TypeError,
      'ExponentialDecay: expected staircase as a boolean, got 1',
    );
    expectError(
      () => new S.ExponentialDecay({ initial_learning_rate: 0.1 } as never),
      TypeError,
      "ExponentialDecay: expected options among initialLearningRate, decaySteps, decayRate, staircase, name, got unknown option 'initial_learning_rate'",
    );
    expectError(() => new S.CosineDecay({ initialLearningRate: 0.1, decaySteps: -5 }), RangeError, 'CosineDecay: expected decaySteps finite and > 0, got -5');
    expectError(() => new S.CosineDecay({ initialLearningRate: 0.1, decaySteps: 5, alpha: 2 }), RangeError, 'CosineDecay: expected alpha in [0, 1], got 2');
    expectError(
      () => new S.CosineDecay({ initialLearningRate: 0.1, decaySteps: 5, warmupTarget: -1 }),
      RangeError,
      'CosineDecay: expected warmupTarget finite and >= 0, got -1',
    );
    expectError(
      () => new S.CosineDecay({ initialLearningRate: 0.1, decaySteps: 5, warmupSteps: NaN }),
      RangeError,
      'CosineDecay: expected warmupSteps finite and >= 0, got NaN',
    );
    expectError(
      () => new S.PiecewiseConstantDecay({ boundaries: [10, 20], values: [1, 0.5] }),
      RangeError,
      'PiecewiseConstantDecay: expected values with one more element than boundaries (3), got 2',
    );
    expectError(
      () => new S.PiecewiseConstantDecay({ boundaries: [10, 10], values: [1, 0.5, 0.1] }),
      RangeError,
      'PiecewiseConstantDecay: expected strictly increasing finite boundaries, got [10,10]',
    );
    expectError(
      () => new S.PiecewiseConstantDecay({ boundaries: [10], values: [1, -0.5] }),
      RangeError,
      'PiecewiseConstantDecay: expected values[1] finite and >= 0, got -0.5',
    );
    expectError(
      () => new S.PiecewiseConstantDecay({ boundaries: '10' as never, values: [1, 2] }),
      TypeError,
      'PiecewiseConstantDecay: expected boundaries as an array of numbers, got "10"',
    );
    expectError(
      () => new S.PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 10, power: -1 }),
      RangeError,
      'PolynomialDecay: expected power finite and >= 0, got -1',
    );
    expectError(
      () => new S.InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 0, decayRate: 1 }),
      RangeError,
      'InverseTimeDecay: expected decaySteps finite and > 0, got 0',
    );
    const lr = new S.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 });
    expectError(() => lr.call(-1), RangeError, 'ExponentialDecay.call: expected step finite and >= 0, got -1');
    expectError(() => lr.call('1' as never), TypeError, 'ExponentialDecay.call: expected step as a number, got "1"');
  });
});

describe('schedules (values, Keras 3 formulas)', () => {
  it('ExponentialDecay, continuous and staircase', () => {
    const smooth = new S.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 4, decayRate: 0.5 });
    const stairs = new S.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 4, decayRate: 0.5, staircase: true });
    for (const step of [0, 1, 3, 4, 7, 8, 100]) {
      close(smooth.call(step), 0.1 * 0.5 ** (step / 4));
      close(stairs.call(step), 0.1 * 0.5 ** Math.floor(step / 4));
    }
  });

  it('InverseTimeDecay', () => {
    const lr = new S.InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 2, decayRate: 0.5 });
    const st = new S.InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 2, decayRate: 0.5, staircase: true });
    for (const step of [0, 1, 2, 5, 50]) {
      close(lr.call(step), 0.1 / (1 + (0.5 * step) / 2));
      close(st.call(step), 0.1 / (1 + 0.5 * Math.floor(step / 2)));
    }
  });

  it('PolynomialDecay, held and cycling', () => {
    const held = new S.PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 10, endLearningRate: 0.01, power: 2 });
    const cyc = new S.PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 10, endLearningRate: 0.01, cycle: true });
    for (const step of [0, 3, 10, 25]) close(held.call(step), 0.09 * (1 - Math.min(step, 10) / 10) ** 2 + 0.01);
    close(cyc.call(0), 0.1);
    close(cyc.call(15), 0.09 * (1 - 15 / 20) + 0.01);
    close(cyc.call(20), 0.01);
    close(new S.PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 10 }).call(10), 0.0001);
  });

  it('CosineDecay, without and with warmup', () => {
    const plain = new S.CosineDecay({ initialLearningRate: 0.2, decaySteps: 10, alpha: 0.1 });
    for (const step of [0, 2, 5, 10, 40]) {
      const c = 0.5 * (1 + Math.cos((Math.PI * Math.min(step, 10)) / 10));
      close(plain.call(step), 0.2 * (0.9 * c + 0.1));
    }
    const warm = new S.CosineDecay({ initialLearningRate: 0, decaySteps: 100, warmupTarget: 0.1, warmupSteps: 10 });
    close(warm.call(0), 0);
    close(warm.call(5), 0.05);
    close(warm.call(10), 0.1);
    close(warm.call(60), 0.05);
    close(warm.call(110), 0);
    close(warm.call(500), 0);
  });

  it('PiecewiseConstantDecay (boundaries inclusive on the left interval)', () => {
    const lr = new S.PiecewiseConstantDecay({ boundaries: [100, 110], values: [1, 0.5, 0.1] });
    expect([0, 100, 101, 110, 111, 1e6].map((s) => lr.call(s))).toEqual([1, 1, 0.5, 0.5, 0.1, 0.1]);
  });
});

describe('schedules (config)', () => {
  it('round-trips through getConfig/fromConfig and serialize/deserialize', () => {
    const all = [
      new S.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 3, decayRate: 0.7, staircase: true, name: 'e' }),
      new S.InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 3, decayRate: 0.7 }),
      new S.PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 3, endLearningRate: 0.001, power: 0.5, cycle: true }),
      new S.CosineDecay({ initialLearningRate: 0.1, decaySteps: 3, alpha: 0.2, warmupTarget: 0.3, warmupSteps: 2 }),
      new S.PiecewiseConstantDecay({ boundaries: [1, 5], values: [0.3, 0.2, 0.1] }),
    ];
    for (const s of all) {
      const cls = s.constructor as typeof S.ExponentialDecay;
      const copy = cls.fromConfig(JSON.parse(JSON.stringify(s.getConfig())));
      expect(copy.getConfig()).toEqual(s.getConfig());
      const again = S.deserialize(JSON.parse(JSON.stringify(S.serialize(s))));
      expect(again).toBeInstanceOf(cls);
      for (const step of [0, 1, 2, 4, 9]) expect(again.call(step)).toBe(s.call(step));
    }
  });

  it('deserializes custom schedules given as customObjects', () => {
    class Halving extends S.LearningRateSchedule {
      static override readonly className = 'Halving';
      constructor(readonly start: number) {
        super();
      }
      call(step: number) {
        return this.start / 2 ** step;
      }
      getConfig() {
        return { start: this.start };
      }
      static override fromConfig(config: Record<string, unknown>) {
        return new Halving(config.start as number) as never;
      }
    }
    const ser = S.serialize(new Halving(0.8));
    expect(ser).toEqual({ className: 'Halving', config: { start: 0.8 } });
    expectError(() => S.deserialize(ser), RangeError, /schedules.deserialize: expected a className among ExponentialDecay, .*, got 'Halving'/);
    expect(S.deserialize(ser, { Halving }).call(3)).toBe(0.1);
    const opt = nk.optimizers.SGD.fromConfig({ learningRate: S.serialize(new S.ExponentialDecay({ initialLearningRate: 1, decaySteps: 1, decayRate: 0.5 })) });
    expect(opt.learningRateSchedule).toBeInstanceOf(S.ExponentialDecay);
    expectError(() => S.serialize({} as never), TypeError, 'schedules.serialize: expected a LearningRateSchedule, got an object');
  });
});
