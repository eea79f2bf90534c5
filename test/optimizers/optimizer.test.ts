// The base class: common options, state handling, minimize, config.
import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { expectClose, expectError, uniform } from '../helpers.js';
import { runReference } from './reference.js';

const { SGD, Adam, AdamW, RMSprop, Adagrad } = nk.optimizers;
const { ExponentialDecay, LearningRateSchedule } = nk.optimizers.schedules;
const classes = [SGD, Adam, AdamW, RMSprop, Adagrad] as const;
const t32 = (x: Float64Array) => nk.tensor(x, [x.length], 'float32');

describe('Optimizer#constructor (common options)', () => {
  for (const Cls of classes) {
    const api = Cls.className;
    it(`${api}: rejects bad common options with the class and parameter named`, () => {
      const make = (o: unknown) => () => new Cls(o as never);
      expectError(make(5), TypeError, `${api}: expected an options object, got 5`);
      expectError(make({ learningRate: NaN }), RangeError, `${api}: expected learningRate finite and >= 0, got NaN`);
      expectError(make({ learningRate: -0.1 }), RangeError, `${api}: expected learningRate finite and >= 0, got -0.1`);
      expectError(make({ learningRate: Infinity }), RangeError, `${api}: expected learningRate finite and >= 0, got Infinity`);
      expectError(make({ learningRate: '1' }), TypeError, `${api}: expected learningRate as a number or a LearningRateSchedule, got "1"`);
      expectError(make({ weightDecay: -1 }), RangeError, `${api}: expected weightDecay finite and >= 0, got -1`);
      expectError(make({ weightDecay: NaN }), RangeError, `${api}: expected weightDecay finite and >= 0, got NaN`);
      expectError(make({ weightDecay: '0.1' }), TypeError, `${api}: expected weightDecay as a number, got "0.1"`);
      for (const clip of ['clipnorm', 'clipvalue', 'globalClipnorm']) {
        expectError(make({ [clip]: 0 }), RangeError, `${api}: expected ${clip} finite and > 0, got 0`);
        expectError(make({ [clip]: -1 }), RangeError, `${api}: expected ${clip} finite and > 0, got -1`);
        expectError(make({ [clip]: NaN }), RangeError, `${api}: expected ${clip} finite and > 0, got NaN`);
        expectError(make({ [clip]: true }), TypeError, `${api}: expected ${clip} as a number, got true`);
      }
      expectError(
        make({ clipnorm: 1, clipvalue: 2 }),
        RangeError,
        `${api}: expected only one of clipnorm, clipvalue and globalClipnorm, got clipnorm=1, clipvalue=2, globalClipnorm=null`,
      );
      expectError(make({ name: 3 }), TypeError, `${api}: expected name as a string, got 3`);
      expectError(make({ beta_1: 0.9 }), TypeError, new RegExp(`^${api}: expected options among learningRate, name, .*, got unknown option 'beta_1'$`));
    });
  }

  it('accepts the legacy lr on SGD only', () => {
    for (const Cls of [Adam, AdamW, RMSprop, Adagrad]) {
      expectError(
        () => new Cls({ lr: 0.1 } as never),
        TypeError,
        `${Cls.className}: expected learningRate (the deprecated lr alias is accepted by SGD only), got lr`,
      );
    }
    expect(new SGD({ lr: 0.2 }).learningRate).toBe(0.2);
  });

  it('has Keras 3 defaults', () => {
    const common = { weightDecay: null, clipnorm: null, clipvalue: null, globalClipnorm: null };
    expect(new SGD().getConfig()).toEqual({ name: 'SGD', learningRate: 0.01, ...common, momentum: 0, nesterov: false });
    expect(new Adam().getConfig()).toEqual({ name: 'adam', learningRate: 0.001, ...common, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false });
    expect(new AdamW().getConfig()).toEqual({
      name: 'adamw', learningRate: 0.001, ...common, weightDecay: 0.004, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false,
    });
    expect(new RMSprop().getConfig()).toEqual({ name: 'rmsprop', learningRate: 0.001, ...common, rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false });
    expect(new Adagrad().getConfig()).toEqual({ name: 'adagrad', learningRate: 0.001, ...common, initialAccumulatorValue: 0.1, epsilon: 1e-7 });
  });
});

describe('Optimizer#applyGradients (state)', () => {
  const twoVars = () => [
    new nk.Variable(t32(uniform(6, 1)), { name: 'a:0' }),
    new nk.Variable(t32(uniform(3, 2)), { name: 'b:0' }),
  ];

  it('rejects a bad call without changing any variable, slot or iterations', () => {
    const [a, b] = twoVars();
    const opt = new Adam({ learningRate: 0.1, amsgrad: true });
    opt.applyGradients([[t32(uniform(6, 3)), a], [t32(uniform(3, 4)), b]]);
    const before = [a.snapshot(), b.snapshot(), ...['momentum', 'velocity', 'velocityHat'].flatMap((s) => [opt.getSlot(a, s)!, opt.getSlot(b, s)!])];
    const c = new nk.Variable(nk.tensor([1, 2]), { name: 'c:0' });
    expectError(
      () => opt.applyGradients([[t32(uniform(6, 5)), a], [t32(uniform(3, 6)), c]]),
      RangeError,
      "Adam.applyGradients: expected a float32 gradient of shape [2] for 'c:0', got a float32 tensor of shape [3]",
    );
    expectError(() => opt.applyGradients([[t32(uniform(6, 5)), a], ['g' as never, b]]), TypeError, /pairs\[1\]\[0\] as a Tensor or null/);
    const after = [a.snapshot(), b.snapshot(), ...['momentum', 'velocity', 'velocityHat'].flatMap((s) => [opt.getSlot(a, s)!, opt.getSlot(b, s)!])];
    after.forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(before[i].data)));
    expect(opt.getSlot(c, 'momentum')).toBeNull();
    expect(opt.iterations).toBe(1);
  });

  it('rejects a schedule that returns a bad rate, changing nothing', () => {
    class Broken extends LearningRateSchedule {
      static override readonly className = 'Broken';
      call(step: number) {
        return step === 0 ? 0.1 : NaN;
      }
      getConfig() {
        return {};
      }
    }
    const [a] = twoVars();
    const opt = new RMSprop({ learningRate: new Broken() });
    opt.applyGradients([[nk.ones([6]), a]]);
    const snapshot = Array.from(a.read().data);
    const slot = Array.from(opt.getSlot(a, 'velocity')!.data);
    expectError(
      () => opt.applyGradients([[nk.ones([6]), a]]),
      RangeError,
      'RMSprop.applyGradients: expected the learning-rate schedule to return a finite number >= 0 at step 1, got NaN',
    );
    expect(Array.from(a.read().data)).toEqual(snapshot);
    expect(Array.from(opt.getSlot(a, 'velocity')!.data)).toEqual(slot);
    expect(opt.iterations).toBe(1);
  });

  it('rejects a gradient whose buffer was transferred away', () => {
    const [a] = twoVars();
    const g = t32(uniform(6, 9));
    structuredClone(g.data.buffer, { transfer: [g.data.buffer as ArrayBuffer] });
    expectError(
      () => new SGD().applyGradients([[g, a]]),
      RangeError,
      "SGD.applyGradients: expected gradient data of length 6 for 'a:0', got length 0 (detached buffer?)",
    );
  });

  it('reads a gradient that aliases the variable before writing it', () => {
    for (const Cls of classes) {
      const start = uniform(6, 11);
      const v = new nk.Variable(nk.tensor(start, [6], 'float64'), { name: 'v:0' });
      const opt = new Cls({ learningRate: 0.1 });
      opt.applyGradients([[v.read(), v]]);
      const kind = ({ SGD: 'sgd', Adam: 'adam', AdamW: 'adam', RMSprop: 'rmsprop', Adagrad: 'adagrad' } as const)[Cls.className as 'SGD'];
      const ref = runReference({ kind, learningRate: 0.1, weightDecay: Cls === AdamW ? 0.004 : null }, [start], [[start]]);
      expectClose(v.read().data, ref.values[0], 1e-12, 1e-14);
    }
  });

  it('keeps slots per variable, created at the first update; copies from getSlot', () => {
    const [a, b] = twoVars();
    const opt = new Adagrad({ initialAccumulatorValue: 0.25 });
    expect(opt.getSlot(a, 'accumulator')).toBeNull();
    opt.applyGradients([[nk.fill([6], 2), a], [null, b]]);
    expect(Array.from(opt.getSlot(a, 'accumulator')!.data)).toEqual(new Array(6).fill(4.25));
    expect(opt.getSlot(b, 'accumulator')).toBeNull();
    opt.getSlot(a, 'accumulator')!.data.fill(0);
    expect(opt.getSlot(a, 'accumulator')!.data[0]).toBe(4.25);
    expect(opt.slotNames()).toEqual(['accumulator']);
    expect(new SGD().slotNames()).toEqual([]);
    const sgd = new SGD({ momentum: 0 });
    sgd.applyGradients([[nk.ones([6]), a]]);
    expect(sgd.slotNames()).toEqual([]);
    const rms = new RMSprop({ momentum: 0.5, centered: true });
    rms.applyGradients([[nk.ones([6]), a]]);
    expect(rms.slotNames().sort()).toEqual(['averageGradient', 'momentum', 'velocity']);
  });

  it('applies the variable constraint after the update', () => {
    const v = new nk.Variable(nk.tensor([0.05, 1]), { name: 'v:0', constraint: new nk.constraints.NonNeg() });
    new SGD({ learningRate: 0.1 }).applyGradients([[nk.tensor([1, 1]), v]]);
    expectClose(v.read().data, [0, 0.9], 1e-6, 1e-7);
  });

  it('propagates NaN gradients; a non-finite global norm poisons every variable (as Keras)', () => {
    const [a, b] = twoVars();
    const g = t32(uniform(6, 1));
    g.data[2] = NaN;
    new Adam().applyGradients([[g, a]]);
    expect(Number.isNaN(a.read().data[2])).toBe(true);
    expect(Number.isNaN(a.read().data[0])).toBe(false);
    const [c, d] = twoVars();
    const inf = t32(uniform(6, 2));
    inf.data[0] = Infinity;
    new SGD({ globalClipnorm: 1 }).applyGradients([[inf, c], [nk.ones([3]), d]]);
    expect(Array.from(d.read().data).every(Number.isNaN)).toBe(true);
    expect(b.read().data.every(Number.isFinite)).toBe(true);
  });

  it('leaves a zero gradient alone under clipnorm', () => {
    const [a] = twoVars();
    const start = Array.from(a.read().data);
    new SGD({ clipnorm: 1 }).applyGradients([[nk.zeros([6]), a]]);
    expect(Array.from(a.read().data)).toEqual(start);
  });

  it('excludes variables from weight decay by identity or by name', () => {
    const [a, b] = twoVars();
    const starts = [Array.from(a.read().data), Array.from(b.read().data)];
    const gradients = [[uniform(6, 20), uniform(3, 21)], [uniform(6, 22), uniform(3, 23)]];
    const opt = new AdamW({ learningRate: 0.1, weightDecay: 0.5 });
    opt.excludeFromWeightDecay({ varNames: ['^b:'] });
    for (const [ga, gb] of gradients) opt.applyGradients([[t32(ga), a], [t32(gb), b]]);
    const want = runReference({ kind: 'adam', learningRate: 0.1, weightDecay: 0.5, excluded: new Set([1]) }, starts, gradients);
    expectClose(a.read().data, want.values[0], 2e-5, 2e-6);
    expectClose(b.read().data, want.values[1], 2e-5, 2e-6);

    const [c, d] = twoVars();
    const byVar = new AdamW({ learningRate: 0.1, weightDecay: 0.5 });
    byVar.excludeFromWeightDecay({ varList: [c] });
    for (const [ga, gb] of gradients) byVar.applyGradients([[t32(ga), c], [t32(gb), d]]);
    const want2 = runReference({ kind: 'adam', learningRate: 0.1, weightDecay: 0.5, excluded: new Set([0]) }, starts, gradients);
    expectClose(c.read().data, want2.values[0], 2e-5, 2e-6);
    expectClose(d.read().data, want2.values[1], 2e-5, 2e-6);
    expectError(() => byVar.excludeFromWeightDecay({ varList: ['a'] as never }), TypeError, /varList as an array of Variables/);
    expectError(() => byVar.excludeFromWeightDecay({ varNames: [1] as never }), TypeError, /varNames as an array of strings/);
  });

  it('evaluates a schedule at iterations; iterations and learningRate are settable', () => {
    const schedule = new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 });
    const opt = new SGD({ learningRate: schedule });
    expect(opt.learningRate).toBe(0.1);
    expect(opt.learningRateSchedule).toBe(schedule);
    const v = new nk.Variable(nk.tensor([0], [1], 'float64'), { name: 'v:0' });
    for (let i = 0; i < 3; i++) opt.applyGradients([[nk.tensor([1], [1], 'float64'), v]]);
    expectClose(v.read().data, [-(0.1 + 0.05 + 0.025)], 1e-15, 0);
    expect(opt.learningRate).toBeCloseTo(0.0125, 15);
    opt.iterations = 10;
    expect(opt.learningRate).toBeCloseTo(0.1 * 0.5 ** 10, 15);
    expectError(() => (opt.iterations = -1), RangeError, 'SGD.iterations: expected an integer >= 0, got -1');
    expectError(() => (opt.iterations = 1.5), RangeError, 'SGD.iterations: expected an integer >= 0, got 1.5');
    opt.learningRate = 0.3;
    expect(opt.learningRate).toBe(0.3);
    expect(opt.learningRateSchedule).toBeNull();
    expectError(() => (opt.learningRate = NaN), RangeError, 'SGD.learningRate: expected learningRate finite and >= 0, got NaN');
  });
});

describe('Optimizer#minimize', () => {
  it('rejects bad arguments before running the loss', () => {
    const w = new nk.Variable(nk.tensor([1]), { name: 'w:0' });
    const frozen = new nk.Variable(nk.tensor([1]), { name: 'f:0', trainable: false });
    const opt = new SGD();
    let ran = false;
    const loss = () => {
      ran = true;
      return nk.sum(nk.square(w));
    };
    expectError(() => opt.minimize('loss' as never, [w]), TypeError, 'SGD.minimize: expected loss as a function, got "loss"');
    expectError(() => opt.minimize(loss, w as never), TypeError, 'SGD.minimize: expected varList as an array of Variables, got a Variable');
    expectError(() => opt.minimize(loss, []), RangeError, 'SGD.minimize: expected at least one variable in varList, got an empty array');
    expectError(() => opt.minimize(loss, [w, frozen]), RangeError, "SGD.minimize: expected trainable variables, got 'f:0' (trainable: false)");
    expect(ran).toBe(false);
    expectError(() => opt.minimize((() => 3) as never, [w]), TypeError, 'SGD.minimize: expected loss() to return a Tensor, got 3');
    expectError(() => opt.minimize(() => nk.sum(nk.tensor([2])), [w]), RangeError, /at least one non-null gradient, got only null gradients/);
    expect(Array.from(w.read().data)).toEqual([1]);
    expect(opt.iterations).toBe(0);
  });

  it("reproduces Keras' RMSprop docstring example (var1 = 9.683772)", () => {
    const var1 = new nk.Variable(nk.tensor([10]), { name: 'var1:0' });
    const opt = new RMSprop({ learningRate: 0.1 });
    const loss = opt.minimize(() => nk.div(nk.square(var1), 2), [var1]);
    expect(loss.data[0]).toBe(50);
    expect(var1.read().data[0]).toBeCloseTo(9.683772, 5);
  });

  it('updates the variables the loss reads and leaves the others', () => {
    const w = new nk.Variable(nk.tensor([1, -2], [2], 'float64'), { name: 'w:0' });
    const unused = new nk.Variable(nk.tensor([5], [1], 'float64'), { name: 'u:0' });
    const opt = new SGD({ learningRate: 0.25 });
    for (let i = 0; i < 3; i++) opt.minimize(() => nk.sum(nk.square(w)), [w, unused]);
    expectClose(w.read().data, [0.125, -0.25], 1e-15, 0);
    expect(Array.from(unused.read().data)).toEqual([5]);
    expect(opt.iterations).toBe(3);
  });
});

describe('Optimizer#getConfig / fromConfig', () => {
  const instances = () => [
    new SGD({ learningRate: 0.2, momentum: 0.8, nesterov: true, clipvalue: 3, name: 's' }),
    new Adam({ learningRate: 0.02, beta1: 0.8, beta2: 0.95, epsilon: 1e-5, amsgrad: true, globalClipnorm: 2, weightDecay: 0.01 }),
    new AdamW({ weightDecay: 0.1, clipnorm: 1 }),
    new RMSprop({ learningRate: new nk.optimizers.schedules.CosineDecay({ initialLearningRate: 0.1, decaySteps: 50, alpha: 0.1 }), rho: 0.7, momentum: 0.3, centered: true }),
    new Adagrad({ initialAccumulatorValue: 0.3, epsilon: 1e-6, learningRate: new ExponentialDecay({ initialLearningRate: 1, decaySteps: 3, decayRate: 0.9, staircase: true }) }),
  ];

  it('round-trips every option, through JSON too', () => {
    for (const opt of instances()) {
      const cls = opt.constructor as typeof SGD;
      const config = opt.getConfig();
      const copy = cls.fromConfig(JSON.parse(JSON.stringify(config)));
      expect(copy).toBeInstanceOf(cls);
      expect(copy.getConfig()).toEqual(config);
      const viaRegistry = nk.optimizers.deserialize(JSON.parse(JSON.stringify(nk.optimizers.serialize(opt))));
      expect(viaRegistry.getConfig()).toEqual(config);
      expect(viaRegistry.constructor).toBe(cls);
    }
  });

  it('serializes a schedule as { className, config }', () => {
    const config = instances()[3].getConfig();
    expect(config.learningRate).toEqual({
      className: 'CosineDecay',
      config: { initialLearningRate: 0.1, decaySteps: 50, alpha: 0.1, warmupTarget: null, warmupSteps: 0, name: 'CosineDecay' },
    });
  });

  it('optimizers.get takes Keras names, serialized objects and instances', () => {
    expect(nk.optimizers.get('adam')).toBeInstanceOf(Adam);
    expect(nk.optimizers.get('RMSprop')).toBeInstanceOf(RMSprop);
    expect(nk.optimizers.get('sgd').getConfig().learningRate).toBe(0.01);
    const opt = new Adagrad();
    expect(nk.optimizers.get(opt)).toBe(opt);
    expect(nk.optimizers.get({ className: 'AdamW', config: { weightDecay: 0.2 } }).getConfig().weightDecay).toBe(0.2);
    expectError(() => nk.optimizers.get('nadam'), RangeError, "optimizers.get: expected a name among SGD, Adam, AdamW, RMSprop, Adagrad, got 'nadam'");
    expectError(() => nk.optimizers.get(3 as never), TypeError, /optimizers.get: expected a name/);
    expectError(() => nk.optimizers.deserialize({ className: 'toString', config: {} }), RangeError, /className among/);
    expectError(() => AdamW.fromConfig({ weightDecay: null }), TypeError, 'AdamW: expected weightDecay as a number, got null');
  });
});

describe('Optimizer (subclassing)', () => {
  it('runs a user-defined optimizer with the base class checks and step values', () => {
    class SignSGD extends nk.optimizers.Optimizer {
      static override readonly className = 'SignSGD';
      static override readonly defaults = { learningRate: 0.01, name: 'sign_sgd' };
      constructor(options: nk.optimizers.OptimizerOptions = {}) {
        super(options, []);
      }
      protected updateVariable(value: nk.FloatArray, grad: nk.FloatArray, _v: nk.Variable, step: nk.optimizers.UpdateStep) {
        for (let i = 0; i < value.length; i++) {
          value[i] = value[i] - value[i] * step.decay - step.learningRate * Math.sign(grad[i] * step.gradScale);
        }
      }
    }
    const v = new nk.Variable(nk.tensor([1, -1], [2], 'float64'), { name: 'v:0' });
    const opt = new SignSGD({ learningRate: 0.5, weightDecay: 0.2 });
    opt.applyGradients([[nk.tensor([3, -0.1], [2], 'float64'), v]]);
    expectClose(v.read().data, [0.9 - 0.5, -0.9 + 0.5], 1e-15, 1e-16);
    expect(opt.getConfig().name).toBe('sign_sgd');
    expectError(() => new SignSGD({ learningRate: -1 }), RangeError, 'SignSGD: expected learningRate finite and >= 0, got -1');
    expect(SignSGD.fromConfig(opt.getConfig()).getConfig()).toEqual(opt.getConfig());
  });
});
