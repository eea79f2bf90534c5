/**
 * Differential tests: normkit's optimizers against TensorFlow.js'
 * `tf.train.sgd`, `tf.train.momentum`, `tf.train.adam` and `tf.train.rmsprop`
 * (cpu backend): the same float32 initial values and the same sequence of
 * gradients for 20 steps on two variables, compared after every step.
 *
 * Where the two libraries compute the same thing the hyper-parameters are
 * set to match; the known differences are pinned down below:
 * - momentum: tfjs accumulates `a = m*a + g` and steps `-lr*a`; Keras keeps
 *   `v = m*v - lr*g`. With a constant learning rate `v = -lr*a`: identical.
 * - Adam: tfjs adds epsilon to `sqrt(v / (1 - beta2^t))`, Keras to `sqrt(v)`
 *   (then scales by `sqrt(1 - beta2^t)`), so tfjs' epsilon is Keras'
 *   `epsilon / sqrt(1 - beta2^t)`, a different value at every step; they agree
 *   exactly with epsilon 0, and closely whenever epsilon << sqrt(v).
 * - RMSprop centered: tfjs computes `sqrt(velocity - (avg^2 + epsilon))`
 *   (epsilon subtracted), Keras `sqrt(velocity - avg^2 + epsilon)`; they
 *   agree with epsilon 0 (with epsilon > 0, tfjs returns NaN wherever
 *   velocity - avg^2 < epsilon, e.g. small first-step gradients).
 *   Non-centered RMSprop is the same formula, and tfjs' default epsilon (the
 *   backend's, 1e-7) equals Keras'.
 * - Adagrad (not required by the issue, but tfjs has it): the same formula,
 *   with epsilon fixed at the backend's 1e-7 = Keras' default.
 * - tfjs has no AdamW, AMSGrad, clipping, weight decay or schedules in
 *   `tf.train`, so those are checked against the float64 Keras reference
 *   only (test/optimizers/keras_rules.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { uniform } from '../helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const STEPS = 20;
const SIZES = [37, 5];
const TOL = 1e-5;
const results: { label: string; maxAbsDiff: number }[] = [];

afterAll(() => {
  // The measured agreement, for the record (vitest prints it with the run).
  console.log(`tfjs optimizer parity over ${STEPS} steps (max |normkit - tfjs|, float32):\n` +
    results.map((r) => `  ${r.label.padEnd(56)} ${r.maxAbsDiff.toExponential(2)}`).join('\n'));
});

let uid = 0;

/**
 * Runs both optimizers for STEPS steps from the same start; returns the
 * largest |normkit - tfjs| over all elements and steps.
 */
function compare(
  makeTf: () => tf.Optimizer,
  makeNk: () => nk.optimizers.Optimizer,
  gradScale = 1,
): number {
  const starts = SIZES.map((n, k) => Float32Array.from(uniform(n, 11 + k, -2, 2)));
  const tfVars = starts.map((s) => tf.variable(tf.tensor1d(s), true, `nk_parity_${uid++}`));
  const nkVars = starts.map((s, k) => new nk.Variable(nk.tensor(s, [s.length], 'float32'), { name: `v${k}:0` }));
  const tfOpt = makeTf();
  const nkOpt = makeNk();
  let worst = 0;
  try {
    for (let step = 0; step < STEPS; step++) {
      const grads = SIZES.map((n, k) => Float32Array.from(uniform(n, 1000 * step + k, -gradScale, gradScale)));
      const named: tf.NamedTensorMap = {};
      grads.forEach((g, k) => (named[tfVars[k].name] = tf.tensor1d(g)));
      tfOpt.applyGradients(named);
      tf.dispose(Object.values(named));
      nkOpt.applyGradients(grads.map((g, k) => [nk.tensor(g, [g.length], 'float32'), nkVars[k]] as const));
      nkVars.forEach((v, k) => {
        const theirs = tfVars[k].dataSync();
        const ours = v.read().data;
        for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
        if (Number.isNaN(worst) || ours.some(Number.isNaN)) worst = Infinity;
      });
    }
  } finally {
    tfOpt.dispose();
    tf.dispose(tfVars);
  }
  return worst;
}

function parity(label: string, makeTf: () => tf.Optimizer, makeNk: () => nk.optimizers.Optimizer): void {
  it(label, () => {
    const diff = compare(makeTf, makeNk);
    results.push({ label, maxAbsDiff: diff });
    expect(diff).toBeLessThan(TOL);
  });
}

describe('SGD vs tf.train.sgd / tf.train.momentum', () => {
  parity('SGD lr 0.1 = sgd(0.1)', () => tf.train.sgd(0.1), () => new nk.optimizers.SGD({ learningRate: 0.1 }));
  parity(
    'SGD momentum 0.9 = momentum(0.05, 0.9)',
    () => tf.train.momentum(0.05, 0.9),
    () => new nk.optimizers.SGD({ learningRate: 0.05, momentum: 0.9 }),
  );
  parity(
    'SGD momentum 0.9 nesterov = momentum(0.05, 0.9, true)',
    () => tf.train.momentum(0.05, 0.9, true),
    () => new nk.optimizers.SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true }),
  );
});

describe('Adam vs tf.train.adam', () => {
  parity(
    'Adam epsilon 0 = adam(0.01, 0.9, 0.999, 0)',
    () => tf.train.adam(0.01, 0.9, 0.999, 0),
    () => new nk.optimizers.Adam({ learningRate: 0.01, epsilon: 0 }),
  );
  parity(
    'Adam beta1 0.8 beta2 0.95 epsilon 0 = adam(0.02, 0.8, 0.95, 0)',
    () => tf.train.adam(0.02, 0.8, 0.95, 0),
    () => new nk.optimizers.Adam({ learningRate: 0.02, beta1: 0.8, beta2: 0.95, epsilon: 0 }),
  );
  parity(
    'Adam defaults ~ adam() (epsilon 1e-7 << sqrt(v))',
    () => tf.train.adam(),
    () => new nk.optimizers.Adam(),
  );

  it('differs where epsilon is comparable to sqrt(v) (epsilon placement, documented)', () => {
    // Gradients of 1e-6: sqrt(v) ~ 3e-8 at step 1, so epsilon 1e-7 dominates
    // and tfjs' effective epsilon (1e-7 / sqrt(1 - 0.999^t)) is ~30x Keras'.
    const diff = compare(() => tf.train.adam(0.01), () => new nk.optimizers.Adam({ learningRate: 0.01 }), 1e-6);
    results.push({ label: 'Adam defaults vs adam(), gradients ~1e-6 (differs)', maxAbsDiff: diff });
    expect(diff).toBeGreaterThan(1e-3);
  });
});

describe('RMSprop vs tf.train.rmsprop', () => {
  parity(
    'RMSprop = rmsprop(0.01, 0.9, 0, 1e-7, false)',
    () => tf.train.rmsprop(0.01, 0.9, 0, 1e-7, false),
    () => new nk.optimizers.RMSprop({ learningRate: 0.01, rho: 0.9, epsilon: 1e-7 }),
  );
  parity(
    'RMSprop defaults = rmsprop(0.001) (same epsilon 1e-7)',
    () => tf.train.rmsprop(0.001),
    () => new nk.optimizers.RMSprop(),
  );
  parity(
    'RMSprop momentum 0.9 = rmsprop(0.01, 0.8, 0.9)',
    () => tf.train.rmsprop(0.01, 0.8, 0.9),
    () => new nk.optimizers.RMSprop({ learningRate: 0.01, rho: 0.8, momentum: 0.9 }),
  );
  parity(
    'RMSprop centered epsilon 0 = rmsprop(0.01, 0.9, 0, 0, true)',
    () => tf.train.rmsprop(0.01, 0.9, 0, 0, true),
    () => new nk.optimizers.RMSprop({ learningRate: 0.01, centered: true, epsilon: 0 }),
  );
  parity(
    'RMSprop centered momentum 0.5 epsilon 0 = rmsprop(.., 0.5, 0, true)',
    () => tf.train.rmsprop(0.01, 0.9, 0.5, 0, true),
    () => new nk.optimizers.RMSprop({ learningRate: 0.01, centered: true, momentum: 0.5, epsilon: 0 }),
  );

  it('centered with epsilon > 0 differs (tfjs subtracts epsilon, documented)', () => {
    // One step, g = [0.01, 1], rho 0.9, epsilon 1e-3: velocity - avg^2 = 0.09 * g^2.
    // Keras: sqrt(0.09 g^2 + 1e-3); tfjs: sqrt(0.09 g^2 - 1e-3), NaN for g = 0.01.
    const g = Float32Array.of(0.01, 1);
    const tv = tf.variable(tf.tensor1d([0, 0]), true, `nk_parity_${uid++}`);
    const topt = tf.train.rmsprop(0.01, 0.9, 0, 1e-3, true);
    const tg = tf.tensor1d(g);
    topt.applyGradients({ [tv.name]: tg });
    const theirs = Array.from(tv.dataSync());
    tf.dispose([tv, tg]);
    topt.dispose();
    const v = new nk.Variable(nk.tensor([0, 0], [2], 'float32'), { name: 'c:0' });
    new nk.optimizers.RMSprop({ learningRate: 0.01, centered: true, epsilon: 1e-3 }).applyGradients([[nk.tensor(g), v]]);
    const ours = Array.from(v.read().data);
    const keras = Array.from(g, (x) => -(0.01 * x) / Math.sqrt(0.09 * x * x + 1e-3));
    ours.forEach((x, i) => expect(x).toBeCloseTo(keras[i], 6));
    expect(theirs[0]).toBeNaN();
    expect(theirs[1]).toBeCloseTo(-0.01 / Math.sqrt(0.09 - 1e-3), 6);
    results.push({ label: 'RMSprop centered epsilon 1e-3, one step (tfjs: NaN, differs)', maxAbsDiff: Math.abs(ours[1] - theirs[1]) });
  });
});

describe('Adagrad vs tf.train.adagrad', () => {
  parity(
    'Adagrad = adagrad(0.1, 0.1) (epsilon 1e-7 both)',
    () => tf.train.adagrad(0.1, 0.1),
    () => new nk.optimizers.Adagrad({ learningRate: 0.1, initialAccumulatorValue: 0.1 }),
  );
  parity(
    'Adagrad initialAccumulatorValue 0.5 = adagrad(0.05, 0.5)',
    () => tf.train.adagrad(0.05, 0.5),
    () => new nk.optimizers.Adagrad({ learningRate: 0.05, initialAccumulatorValue: 0.5 }),
  );
});
