// Every optimizer x every flag combination x every base option, float32 and
// float64, against the float64 reference of Keras 3's formulas.
import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { expectClose, uniform } from '../helpers.js';
import { runReference, type ReferenceConfig } from './reference.js';

type Options = Record<string, unknown>;

interface Case {
  label: string;
  make: (extra: Options) => nk.optimizers.Optimizer;
  ref: ReferenceConfig;
}

const lr = 0.05;
const cases: Case[] = [
  { label: 'SGD', make: (o) => new nk.optimizers.SGD({ learningRate: lr, ...o }), ref: { kind: 'sgd', learningRate: lr } },
  {
    label: 'SGD momentum 0.9',
    make: (o) => new nk.optimizers.SGD({ learningRate: lr, momentum: 0.9, ...o }),
    ref: { kind: 'sgd', learningRate: lr, momentum: 0.9 },
  },
  {
    label: 'SGD momentum 0.9 nesterov',
    make: (o) => new nk.optimizers.SGD({ learningRate: lr, momentum: 0.9, nesterov: true, ...o }),
    ref: { kind: 'sgd', learningRate: lr, momentum: 0.9, nesterov: true },
  },
  { label: 'Adam', make: (o) => new nk.optimizers.Adam({ learningRate: lr, ...o }), ref: { kind: 'adam', learningRate: lr } },
  {
    label: 'Adam amsgrad, beta1 0.5, beta2 0.9, epsilon 1e-3',
    make: (o) => new nk.optimizers.Adam({ learningRate: lr, amsgrad: true, beta1: 0.5, beta2: 0.9, epsilon: 1e-3, ...o }),
    ref: { kind: 'adam', learningRate: lr, amsgrad: true, beta1: 0.5, beta2: 0.9, epsilon: 1e-3 },
  },
  {
    label: 'AdamW',
    make: (o) => new nk.optimizers.AdamW({ learningRate: lr, ...o }),
    ref: { kind: 'adam', learningRate: lr, weightDecay: 0.004 },
  },
  {
    label: 'AdamW amsgrad',
    make: (o) => new nk.optimizers.AdamW({ learningRate: lr, amsgrad: true, ...o }),
    ref: { kind: 'adam', learningRate: lr, amsgrad: true, weightDecay: 0.004 },
  },
  { label: 'RMSprop', make: (o) => new nk.optimizers.RMSprop({ learningRate: lr, ...o }), ref: { kind: 'rmsprop', learningRate: lr } },
  {
    label: 'RMSprop momentum 0.9',
    make: (o) => new nk.optimizers.RMSprop({ learningRate: lr, momentum: 0.9, ...o }),
    ref: { kind: 'rmsprop', learningRate: lr, momentum: 0.9 },
  },
  {
    label: 'RMSprop centered, rho 0.8',
    make: (o) => new nk.optimizers.RMSprop({ learningRate: lr, centered: true, rho: 0.8, ...o }),
    ref: { kind: 'rmsprop', learningRate: lr, centered: true, rho: 0.8 },
  },
  {
    label: 'RMSprop centered momentum 0.5, epsilon 1e-3',
    make: (o) => new nk.optimizers.RMSprop({ learningRate: lr, centered: true, momentum: 0.5, epsilon: 1e-3, ...o }),
    ref: { kind: 'rmsprop', learningRate: lr, centered: true, momentum: 0.5, epsilon: 1e-3 },
  },
  { label: 'Adagrad', make: (o) => new nk.optimizers.Adagrad({ learningRate: lr, ...o }), ref: { kind: 'adagrad', learningRate: lr } },
  {
    label: 'Adagrad initialAccumulatorValue 0.5, epsilon 1e-4',
    make: (o) => new nk.optimizers.Adagrad({ learningRate: lr, initialAccumulatorValue: 0.5, epsilon: 1e-4, ...o }),
    ref: { kind: 'adagrad', learningRate: lr, initialAccumulatorValue: 0.5, epsilon: 1e-4 },
  },
];

const baseOptions: { label: string; options: Options }[] = [
  { label: 'no base options', options: {} },
  { label: 'weightDecay 0.1', options: { weightDecay: 0.1 } },
  { label: 'clipnorm 1', options: { clipnorm: 1 } },
  { label: 'clipvalue 0.5', options: { clipvalue: 0.5 } },
  { label: 'globalClipnorm 1.5', options: { globalClipnorm: 1.5 } },
  {
    label: 'ExponentialDecay schedule',
    options: { learningRate: new nk.optimizers.schedules.ExponentialDecay({ initialLearningRate: 0.08, decaySteps: 2, decayRate: 0.5 }) },
  },
];

const sizes = [37, 5];
const steps = 7;

/** Large gradients first (clipping active, AMSGrad's max matters), small later; variable 1 skipped at step 4. */
function gradientSequence(): (Float64Array | null)[][] {
  const seq: (Float64Array | null)[][] = [];
  for (let s = 0; s < steps; s++) {
    const scale = s < 3 ? 3 : 0.3;
    seq.push(sizes.map((n, k) => (s === 4 && k === 1 ? null : uniform(n, 100 * s + k, -scale, scale))));
  }
  return seq;
}

const round32 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a, Math.fround);

describe('Optimizer#applyGradients follows Keras 3', () => {
  for (const c of cases) {
    for (const base of baseOptions) {
      for (const dtype of ['float32', 'float64'] as const) {
        it(`${c.label}, ${base.label} (${dtype})`, () => {
          const starts = sizes.map((n, k) => uniform(n, 7 + k, -2, 2));
          const grads = gradientSequence();
          const f32 = dtype === 'float32';
          const vars = starts.map((s, k) => new nk.Variable(nk.tensor(s, [s.length], dtype), { name: `v${k}:0` }));
          const opt = c.make(base.options);
          for (const stepGrads of grads) {
            opt.applyGradients(stepGrads.map((g, k) => [g === null ? null : nk.tensor(g, [g.length], dtype), vars[k]] as const));
          }
          const schedule = base.options.learningRate as nk.optimizers.schedules.LearningRateSchedule | undefined;
          const ref: ReferenceConfig = {
            ...c.ref,
            ...(base.options as Partial<ReferenceConfig>),
            learningRate: schedule ? (it: number) => schedule.call(it) : c.ref.learningRate,
          };
          const expected = runReference(
            ref,
            f32 ? starts.map(round32) : starts,
            f32 ? grads.map((s) => s.map((g) => g && round32(g))) : grads,
          );
          vars.forEach((v, k) => expectClose(v.read().data, expected.values[k], f32 ? 2e-5 : 1e-11, f32 ? 2e-6 : 1e-13));
          expect(opt.iterations).toBe(steps);
        });
      }
    }
  }

  it('the test data exercises clipping and AMSGrad (the options change the result)', () => {
    const starts = sizes.map((n, k) => uniform(n, 7 + k, -2, 2));
    const grads = gradientSequence();
    const plain = runReference({ kind: 'adam', learningRate: lr, beta2: 0.9 }, starts, grads).values[0];
    for (const cfg of [{ amsgrad: true }, { clipnorm: 1 }, { clipvalue: 0.5 }, { globalClipnorm: 1.5 }, { weightDecay: 0.1 }]) {
      const other = runReference({ kind: 'adam', learningRate: lr, beta2: 0.9, ...cfg }, starts, grads).values[0];
      const diff = Math.max(...plain.map((x, i) => Math.abs(x - other[i])));
      expect(diff, JSON.stringify(cfg)).toBeGreaterThan(1e-3);
    }
  });
});
