import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { expectClose, expectError, refNormalize, refStats, uniform } from '../helpers.js';

const { BatchNormalization } = nk.layers;

/** A float64 tensor of `shape` with values uniform in [lo, hi). */
function input(shape: number[], seed: number, lo = -1, hi = 2, dtype: nk.DType = 'float64'): nk.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return nk.tensor(dtype === 'float64' ? uniform(n, seed, lo, hi) : Float32Array.from(uniform(n, seed, lo, hi)), shape, dtype);
}

function values(v: nk.Variable | nk.Tensor): number[] {
  return Array.from(v instanceof nk.Tensor ? v.data : v.read().data);
}

describe('BatchNormalization#constructor', () => {
  it('rejects bad hyper-parameters with TypeError/RangeError naming the parameter', () => {
    expectError(() => new BatchNormalization({ momentum: 1.5 }), RangeError, 'BatchNormalization: expected momentum in [0, 1], got 1.5');
    expectError(() => new BatchNormalization({ momentum: NaN }), RangeError, 'BatchNormalization: expected momentum in [0, 1], got NaN');
    expectError(() => new BatchNormalization({ epsilon: 0 }), RangeError, 'BatchNormalization: expected epsilon finite and > 0, got 0');
    expectError(() => new BatchNormalization({ epsilon: -1e-3 }), RangeError, /epsilon finite and > 0, got -0.001/);
    expectError(() => new BatchNormalization({ epsilon: Infinity }), RangeError, /epsilon finite and > 0, got Infinity/);
    expectError(() => new BatchNormalization({ epsilon: '1e-3' as never }), TypeError, 'BatchNormalization: expected epsilon as a number, got "1e-3"');
    expectError(() => new BatchNormalization({ axis: 1.5 }), TypeError, /expected axis as an integer or a non-empty array of integers, got 1.5/);
    expectError(() => new BatchNormalization({ axis: [1, 1] }), RangeError, /expected distinct axes/);
    expectError(() => new BatchNormalization({ center: 1 as never }), TypeError, /expected center as a boolean, got 1/);
    expectError(() => new BatchNormalization({ movingVarianceCorrection: 'bessel' as never }), RangeError, /movingVarianceCorrection 'unbiased' or 'biased', got "bessel"/);
    expectError(() => new BatchNormalization({ gammaInitializer: 'glorot' }), RangeError, /gammaInitializer one of/);
    expectError(() => new BatchNormalization({ name: 'has space' }), TypeError, /name as a non-empty string/);
  });

  it('uses Keras defaults and unique Keras names', () => {
    const a = new BatchNormalization();
    const b = new BatchNormalization();
    expect(b.name).toMatch(/^batch_normalization_\d+$/);
    expect(a.name).not.toBe(b.name);
    expect(a.getConfig()).toMatchObject({ axis: -1, momentum: 0.99, epsilon: 1e-3, center: true, scale: true, trainable: true, dtype: 'float32', movingVarianceCorrection: 'unbiased' });
  });
});

describe('BatchNormalization#apply', () => {
  it('rejects inputs it cannot normalize, and leaves state unchanged', () => {
    const net = new BatchNormalization({ name: 'bn_reject' });
    expectError(() => net.apply(nk.tensor([1, 2, 3])), RangeError, 'BatchNormalization.apply: expected input of rank >= 2, got shape [3]');
    expectError(() => net.apply(nk.zeros([0, 3])), RangeError, 'BatchNormalization.apply: expected input without zero-size dimensions, got shape [0,3]');
    expectError(() => new BatchNormalization({ axis: 4 }).apply(nk.zeros([2, 3])), RangeError, /expected axis in \[-2, 1\] for input of rank 2, got 4/);
    expectError(() => net.apply(nk.zeros([2, 3]), { training: 'yes' as never }), TypeError, /options.training as a boolean/);
    expect(net.built).toBe(false);

    const x = input([4, 3], 1);
    net.apply(x, { training: true });
    const before = net.getWeights().map(values);
    expectError(() => net.apply(nk.zeros([4, 5])), RangeError, 'BatchNormalization.apply: expected input of rank 2 with 3 channels on axis -1, got shape [4,5]');
    expectError(() => net.apply(nk.zeros([4, 1, 3])), RangeError, /expected input of rank 2 with 3 channels/);
    expectError(() => net.apply(nk.zeros([1, 3]), { training: true }), RangeError, 'BatchNormalization.apply: expected more than one value per channel in training mode, got shape [1,3] (1 value per channel)');
    expect(net.getWeights().map(values)).toEqual(before);
  });

  it('starts in inference mode with moving statistics 0 and 1', () => {
    const x = input([2, 4, 4, 3], 7, 0, 2, 'float32');
    const net = new BatchNormalization();
    const y = net.apply(x);
    expect(y.dtype).toBe('float32');
    expect(y.shape).toEqual([2, 4, 4, 3]);
    expectClose(y.data, Array.from(x.data, (v) => v / Math.sqrt(1 + 1e-3)), 1e-6, 1e-7);
    expect(net.variables.map((v) => v.name)).toEqual([
      `${net.name}/gamma:0`, `${net.name}/beta:0`, `${net.name}/moving_mean:0`, `${net.name}/moving_variance:0`,
    ]);
    expect(net.trainableVariables.map((v) => v.name)).toEqual([`${net.name}/gamma:0`, `${net.name}/beta:0`]);
    expect(net.nonTrainableVariables.map((v) => v.name)).toEqual([`${net.name}/moving_mean:0`, `${net.name}/moving_variance:0`]);
    expect(values(net.movingMean!)).toEqual([0, 0, 0]);
    expect(values(net.movingVariance!)).toEqual([1, 1, 1]);
  });

  for (const [label, shape, axis, outer, channels, inner] of [
    ['channels-last', [2, 4, 4, 3], -1, 32, 3, 1],
    ['channels-first', [3, 5, 4, 6], 1, 3, 5, 24],
    ['middle axis', [4, 7, 9], 1, 4, 7, 9],
    ['adjacent axes [1,2]', [3, 2, 5, 4], [1, 2], 3, 10, 4],
    ['rank 5, axis -2', [2, 3, 2, 6, 2], -2, 12, 6, 2],
  ] as const) {
    it(`normalizes with batch statistics in training mode (${label})`, () => {
      const x = input(shape as unknown as number[], 11, -3, 5);
      const gammaInit = new nk.initializers.RandomUniform({ minval: 0.5, maxval: 1.5, seed: 3 });
      const betaInit = new nk.initializers.RandomUniform({ minval: -1, maxval: 1, seed: 4 });
      const net = new BatchNormalization({ axis: axis as number | number[], dtype: 'float64', gammaInitializer: gammaInit, betaInitializer: betaInit });
      const y = net.apply(x, { training: true });
      const { mean, variance } = refStats(x.data, outer, channels, inner);
      const expected = refNormalize(x.data, outer, channels, inner, mean, variance, 1e-3, values(net.gamma!), values(net.beta!));
      expectClose(y.data, expected, 1e-12, 1e-12);
      expect(net.gamma!.shape).toEqual(Array.isArray(axis) ? [2, 5] : [channels]);
    });
  }

  it('follows the moving-average formulas of the tutorial after k training calls', () => {
    const x = input([2, 4, 4, 3], 5, 0, 2, 'float32');
    const { mean, variance } = refStats(x.data, 32, 3, 1);
    const n = 32;
    for (const correction of ['unbiased', 'biased'] as const) {
      const net = new BatchNormalization({ movingVarianceCorrection: correction });
      let k = 0;
      for (const target of [1, 101]) {
        for (; k < target; k++) net.apply(x, { training: true });
        const decay = 0.99 ** k;
        const factor = correction === 'unbiased' ? n / (n - 1) : 1;
        expectClose(values(net.movingMean!), Array.from(mean, (m) => (1 - decay) * m), 2e-5, 1e-6);
        expectClose(values(net.movingVariance!), Array.from(variance, (v) => decay + (1 - decay) * factor * v), 2e-5, 1e-6);
      }
    }
  });

  it('treats trainable: false as inference mode with frozen statistics', () => {
    const x = input([6, 4], 9);
    const frozen = new BatchNormalization({ trainable: false, dtype: 'float64' });
    const y = frozen.apply(x, { training: true });
    expectClose(y.data, Array.from(x.data, (v) => v / Math.sqrt(1 + 1e-3)), 1e-12, 1e-12);
    expect(values(frozen.movingMean!)).toEqual([0, 0, 0, 0]);
    expect(frozen.trainableVariables).toEqual([]);
    expect(frozen.nonTrainableVariables).toHaveLength(4);
  });

  it('casts inputs to the layer dtype and supports center/scale off', () => {
    const net = new BatchNormalization({ center: false, scale: false });
    const y = net.apply(input([5, 2], 2, -1, 1, 'float64'), { training: true });
    expect(y.dtype).toBe('float32');
    expect(net.variables.map((v) => v.name.split('/')[1])).toEqual(['moving_mean:0', 'moving_variance:0']);
  });

  it('round-trips getConfig/fromConfig and getWeights/setWeights', () => {
    const net = new BatchNormalization({ axis: 1, momentum: 0.9, epsilon: 1e-5, movingVarianceCorrection: 'biased', gammaInitializer: 'constant' });
    const copy = BatchNormalization.fromConfig(net.getConfig());
    expect(copy.getConfig()).toEqual(net.getConfig());
    const x = input([3, 2, 4], 4);
    net.apply(x, { training: true });
    copy.apply(x);
    copy.setWeights(net.getWeights());
    expect(copy.getWeights().map(values)).toEqual(net.getWeights().map(values));
    expectError(() => copy.setWeights(net.getWeights().slice(1)), RangeError, 'BatchNormalization.setWeights: expected 4 weights, got 3');
    const bad = net.getWeights();
    bad[3] = nk.ones([5]);
    const before = copy.getWeights().map(values);
    expectError(() => copy.setWeights(bad), RangeError, /expected values\[3\] of shape \[2\]/);
    expect(copy.getWeights().map(values)).toEqual(before);
  });
});

describe('BatchNormalization gradients', () => {
  /** loss = sum(w * bn(x)), so every output element matters differently. */
  function lossAndGrads(net: InstanceType<typeof BatchNormalization>, x: nk.Tensor, w: nk.Tensor, training: boolean) {
    const tape = new nk.GradientTape();
    tape.watch(x);
    const loss = tape.record(() => nk.sum(nk.mul(net.apply(x, { training }), w)));
    const [dx, dgamma, dbeta] = tape.gradient(loss, [x, net.gamma!, net.beta!]);
    return { loss: loss.item(), dx: dx!, dgamma: dgamma!, dbeta: dbeta! };
  }

  for (const training of [true, false]) {
    for (const [label, shape, axis] of [
      ['channels-last', [3, 2, 2, 5], -1],
      ['channels-first', [2, 3, 4, 2], 1],
    ] as const) {
      it(`matches central finite differences in float64 (${training ? 'training' : 'inference'}, ${label})`, () => {
        const x = input(shape as unknown as number[], 21, -2, 3);
        const w = input(shape as unknown as number[], 22, -1, 1);
        const net = new BatchNormalization({
          axis,
          dtype: 'float64',
          gammaInitializer: new nk.initializers.RandomUniform({ minval: 0.5, maxval: 2, seed: 8 }),
          betaInitializer: new nk.initializers.RandomUniform({ minval: -1, maxval: 1, seed: 9 }),
          movingMeanInitializer: new nk.initializers.Constant({ value: 0.3 }),
          movingVarianceInitializer: new nk.initializers.Constant({ value: 1.7 }),
        });
        const { dx, dgamma, dbeta } = lossAndGrads(net, x, w, training);
        const h = 1e-6;
        const f = () => nk.sum(nk.mul(net.apply(x, { training }), w)).item();
        const numeric = (buf: Float32Array | Float64Array) =>
          Array.from(buf, (_, i) => {
            const keep = buf[i];
            buf[i] = keep + h;
            const up = f();
            buf[i] = keep - h;
            const down = f();
            buf[i] = keep;
            return (up - down) / (2 * h);
          });
        expectClose(dx.data, numeric(x.data), 1e-6, 1e-7);
        expectClose(dgamma.data, numeric(net.gamma!._storage().data), 1e-6, 1e-7);
        expectClose(dbeta.data, numeric(net.beta!._storage().data), 1e-6, 1e-7);
      });
    }
  }

  it('gives moving statistics no gradient and refuses variables the tape never saw', () => {
    const net = new BatchNormalization({ dtype: 'float64' });
    const x = input([4, 2], 3);
    const tape = new nk.GradientTape({ persistent: true });
    const loss = tape.record(() => nk.mean(net.apply(x, { training: true })));
    expectError(() => tape.gradient(loss, [net.movingMean!]), RangeError, new RegExp(`expected sources that this tape watched or recorded, got variable '${net.name}/moving_mean:0' which it never saw`));
    expect(tape.gradient(loss, net.trainableVariables).every((g) => g instanceof nk.Tensor)).toBe(true);
  });
});

describe('BatchNormalization with SGD (the tutorial loop)', () => {
  it('matches the closed form of gradient descent on mean(out^2) - 1', () => {
    // With batch statistics, xhat has per-channel mean 0 and mean(xhat^2) = s_c = var_c / (var_c + eps).
    // For loss = mean((gamma*xhat + beta)^2) - 1 over n*C elements:
    //   dL/dgamma_c = (2/C) * gamma_c * s_c,   dL/dbeta_c = (2/C) * beta_c,
    // so each SGD step multiplies gamma_c by (1 - 2*lr*s_c/C) and beta_c by (1 - 2*lr/C).
    const x = input([2, 4, 4, 3], 13, 0, 2, 'float32');
    const net = new BatchNormalization({ betaInitializer: new nk.initializers.Constant({ value: 0.5 }) });
    const opt = new nk.optimizers.SGD({ learningRate: 1e-2 });
    for (let i = 0; i < 10; i++) {
      const tape = new nk.GradientTape();
      const loss = tape.record(() => nk.sub(nk.mean(nk.pow(net.apply(x, { training: true }), 2)), 1));
      const grads = tape.gradient(loss, net.trainableVariables);
      opt.applyGradients(nk.zip(grads, net.trainableVariables));
    }
    const { variance } = refStats(x.data, 32, 3, 1);
    const C = 3;
    const lr = 1e-2;
    expectClose(values(net.gamma!), Array.from(variance, (v) => (1 - (2 * lr * (v / (v + 1e-3))) / C) ** 10), 1e-5, 1e-6);
    expectClose(values(net.beta!), [0, 0, 0].map(() => 0.5 * (1 - (2 * lr) / C) ** 10), 1e-5, 1e-6);
    expect(opt.iterations).toBe(10);
  });
});

/** x transposed by perm (float64 reference helper). */
function permute(x: nk.Tensor, perm: number[]): nk.Tensor {
  return nk.transpose(x, perm);
}

describe('BatchNormalization (Keras-complete arguments)', () => {
  it('normalizes jointly over non-adjacent channel axes', () => {
    const x = input([3, 4, 2, 5], 31, -2, 2);
    const net = new BatchNormalization({ axis: [1, 3], dtype: 'float64', gammaInitializer: new nk.initializers.RandomUniform({ minval: 0.5, maxval: 1.5, seed: 1 }) });
    const y = net.apply(x, { training: true });
    expect(net.gamma!.shape).toEqual([4, 5]);
    // Reference: move the channel axes last, normalize as [outer=6, C=20, inner=1], move back.
    const xt = permute(x, [0, 2, 1, 3]);
    const { mean, variance } = refStats(xt.data, 6, 20, 1);
    const yt = refNormalize(xt.data, 6, 20, 1, mean, variance, 1e-3, values(net.gamma!), null);
    expectClose(permute(y, [0, 2, 1, 3]).data, yt, 1e-12, 1e-12);
    expectError(() => net.apply(nk.zeros([3, 4, 2, 6])), RangeError, 'BatchNormalization.apply: expected input of rank 4 with 4x5 channels on axis [1,3], got shape [3,4,2,6]');
  });

  it('adds differentiable regularization losses', () => {
    const net = new BatchNormalization({ dtype: 'float64', gammaRegularizer: new nk.regularizers.L2({ l2: 0.1 }), betaRegularizer: 'l1', betaInitializer: new nk.initializers.Constant({ value: -0.5 }) });
    const x = input([4, 3], 2);
    net.apply(x);
    const [g, b] = net.losses.map((t) => t.item());
    expect(g).toBeCloseTo(0.1 * 3, 12);
    expect(b).toBeCloseTo(0.01 * 1.5, 12);
    const tape = new nk.GradientTape();
    const loss = tape.record(() => net.losses.reduce((a, t) => nk.add(a, t), nk.mean(net.apply(x, { training: true }))));
    const [dg, db] = tape.gradient(loss, net.trainableVariables);
    // d(mean(y))/dgamma = mean over rows of xhat = 0; d(mean(y))/dbeta = 1/3 per channel.
    expectClose(dg!.data, [0.2, 0.2, 0.2], 1e-9, 1e-9);
    expectClose(db!.data, [1 / 3 - 0.01, 1 / 3 - 0.01, 1 / 3 - 0.01], 1e-9, 1e-9);
    expect(net.getConfig().gammaRegularizer).toEqual({ className: 'L2', config: { l2: 0.1 } });
  });

  it('applies constraints after each optimizer step', () => {
    const net = new BatchNormalization({ gammaConstraint: 'nonNeg', betaConstraint: new nk.constraints.MaxNorm({ maxValue: 0.5 }) });
    const x = input([4, 2], 5, -1, 1, 'float32');
    net.apply(x);
    new nk.optimizers.SGD({ learningRate: 1 }).applyGradients([[nk.tensor([2, -1]), net.gamma!], [nk.tensor([-3, -4]), net.beta!]]);
    expect(values(net.gamma!)).toEqual([0, 2]);
    expectClose(values(net.beta!), [0.3, 0.4], 1e-6, 1e-6);
  });

  it('batch renormalization: first step gives gamma * x + beta, then moves renorm statistics', () => {
    const x = input([8, 3], 6, 0, 3);
    const net = new BatchNormalization({ renorm: true, dtype: 'float64', renormMomentum: 0.9, gammaInitializer: new nk.initializers.Constant({ value: 2 }), betaInitializer: new nk.initializers.Constant({ value: 0.5 }) });
    const y = net.apply(x, { training: true });
    // With renorm_mean 0 and renorm_stddev 1: r = sigma, d = mean, so xhat * r + d = x.
    expectClose(y.data, Array.from(x.data, (v) => 2 * v + 0.5), 1e-12, 1e-12);
    expect(net.variables.map((v) => v.name.split('/')[1])).toEqual(['gamma:0', 'beta:0', 'moving_mean:0', 'moving_variance:0', 'renorm_mean:0', 'renorm_stddev:0']);
    const { mean, variance } = refStats(x.data, 8, 3, 1);
    expectClose(values(net.renormMean!), Array.from(mean, (m) => 0.1 * m), 1e-12, 1e-12);
    expectClose(values(net.renormStddev!), Array.from(variance, (v) => 0.9 + 0.1 * Math.sqrt(v + 1e-3)), 1e-12, 1e-12);
    // With clipping to r = 1, d = 0 it is plain batch normalization.
    const clipped = new BatchNormalization({ renorm: true, dtype: 'float64', renormClipping: { rmax: 1, rmin: 1, dmax: 0 } });
    expectClose(clipped.apply(x, { training: true }).data, refNormalize(x.data, 8, 3, 1, mean, variance, 1e-3), 1e-12, 1e-12);
    // r and d get no gradient: dgamma = r * sum(dy * xhat) + d * sum(dy).
    const tape = new nk.GradientTape();
    const fresh = new BatchNormalization({ renorm: true, dtype: 'float64' });
    const loss = tape.record(() => nk.sum(fresh.apply(x, { training: true })));
    const [dgamma, dbeta] = tape.gradient(loss, fresh.trainableVariables);
    expectClose(dgamma!.data, Array.from(mean, (m) => 8 * m), 1e-9, 1e-9);
    expectClose(dbeta!.data, [8, 8, 8], 1e-12, 1e-12);
    expectError(() => new BatchNormalization({ renorm: true, renormClipping: { rmax: 0.5 } }), RangeError, 'BatchNormalization: expected renormClipping.rmax >= 1, got 0.5');
    expectError(() => new BatchNormalization({ renormClipping: { rmid: 1 } as never }), RangeError, /renormClipping keys rmax, rmin, dmax, got key "rmid"/);
  });

  it('ghost batch normalization (virtualBatchSize) normalizes each sub-batch, with correct gradients', () => {
    const x = input([6, 2, 3], 8, -1, 3);
    const net = new BatchNormalization({ virtualBatchSize: 2, axis: 1, dtype: 'float64', betaInitializer: new nk.initializers.Constant({ value: 0.1 }) });
    const y = net.apply(x, { training: true });
    const avgMean = [0, 0];
    const avgVar = [0, 0];
    for (let g = 0; g < 3; g++) {
      const slab = x.data.subarray(g * 12, (g + 1) * 12);
      const { mean, variance } = refStats(slab, 2, 2, 3);
      expectClose(y.data.subarray(g * 12, (g + 1) * 12), refNormalize(slab, 2, 2, 3, mean, variance, 1e-3, null, [0.1, 0.1]), 1e-12, 1e-12);
      for (let c = 0; c < 2; c++) {
        avgMean[c] += mean[c] / 3;
        avgVar[c] += variance[c] / 3;
      }
    }
    expectClose(values(net.movingMean!), avgMean.map((m) => 0.01 * m), 1e-12, 1e-12);
    expectClose(values(net.movingVariance!), avgVar.map((v) => 0.99 + 0.01 * v * (6 / 5)), 1e-12, 1e-12);
    const w = input([6, 2, 3], 9);
    const f = () => nk.sum(nk.mul(net.apply(x, { training: true }), w)).item();
    const tape = new nk.GradientTape();
    tape.watch(x);
    const loss = tape.record(() => nk.sum(nk.mul(net.apply(x, { training: true }), w)));
    const [dx, dgamma] = tape.gradient(loss, [x, net.gamma!]);
    const h = 1e-6;
    const numeric = (buf: Float64Array | Float32Array) => Array.from(buf, (_, i) => {
      const keep = buf[i];
      buf[i] = keep + h; const up = f();
      buf[i] = keep - h; const down = f();
      buf[i] = keep;
      return (up - down) / (2 * h);
    });
    expectClose(dx!.data, numeric(x.data), 1e-6, 1e-7);
    expectClose(dgamma!.data, numeric(net.gamma!._storage().data), 1e-6, 1e-7);
    expectError(() => net.apply(input([5, 2, 3], 1), { training: true }), RangeError, /expected a batch size divisible by virtualBatchSize 2, got shape \[5,2,3\]/);
    expectError(() => new BatchNormalization({ virtualBatchSize: 0 }), RangeError, 'BatchNormalization: expected virtualBatchSize as a positive integer or null, got 0');
  });

  it('mask: statistics over unmasked positions only, gradients through them', () => {
    const x = input([5, 3], 12, -2, 2);
    const mask = nk.tensor([1, 0, 1, 1, 0], [5], 'float64');
    const net = new BatchNormalization({ dtype: 'float64', gammaInitializer: new nk.initializers.Constant({ value: 1.5 }) });
    const y = net.apply(x, { training: true, mask });
    const kept = [0, 2, 3].flatMap((r) => Array.from(x.data.subarray(r * 3, r * 3 + 3)));
    const { mean, variance } = refStats(kept, 3, 3, 1);
    expectClose(y.data, refNormalize(x.data, 5, 3, 1, mean, variance, 1e-3, [1.5, 1.5, 1.5], null), 1e-12, 1e-12);
    expectClose(values(net.movingMean!), Array.from(mean, (m) => 0.01 * m), 1e-12, 1e-12);
    const tape = new nk.GradientTape();
    tape.watch(x);
    const w = input([5, 3], 13);
    const loss = tape.record(() => nk.sum(nk.mul(net.apply(x, { training: true, mask }), w)));
    const [dx] = tape.gradient(loss, [x]);
    const f = () => nk.sum(nk.mul(net.apply(x, { training: true, mask }), w)).item();
    const h = 1e-6;
    const numeric = Array.from(x.data, (_, i) => {
      const keep = x.data[i];
      x.data[i] = keep + h; const up = f();
      x.data[i] = keep - h; const down = f();
      x.data[i] = keep;
      return (up - down) / (2 * h);
    });
    expectClose(dx!.data, numeric, 1e-6, 1e-7);
    expectError(() => net.apply(x, { training: true, mask: [1, 0, 0, 0, 0] }), RangeError, /expected more than one value per channel in training mode, got shape \[5,3\] \(1 unmasked value per channel\)/);
    expectError(() => net.apply(x, { training: true, mask: [1, 0, 1] }), RangeError, /expected options.mask of shape \[5\] \(the input's shape without the channel axes\), got shape \[3\]/);
    expectError(() => net.apply(x, { training: true, mask: [1, 0, 2, 1, 1] }), RangeError, /expected options.mask of 0 and 1 values, got 2 at index 2/);
  });

  it('round-trips every argument through JSON getConfig/fromConfig', () => {
    const net = new BatchNormalization({
      name: 'bn_full', axis: [1, 2], momentum: 0.8, epsilon: 1e-4, center: false, scale: true, dtype: 'float64',
      gammaInitializer: new nk.initializers.RandomNormal({ mean: 1, stddev: 0.1, seed: 3 }), movingVarianceInitializer: 'constant',
      gammaRegularizer: new nk.regularizers.L1L2({ l1: 0.1, l2: 0.2 }), gammaConstraint: new nk.constraints.MinMaxNorm({ minValue: 0.5, maxValue: 2, rate: 0.5 }),
      renorm: true, renormClipping: { rmax: 3, dmax: 5 }, renormMomentum: 0.9, movingVarianceCorrection: 'biased', trainable: false,
    });
    const config = JSON.parse(JSON.stringify(net.getConfig()));
    expect(BatchNormalization.fromConfig(config).getConfig()).toEqual(net.getConfig());
    const ghost = new BatchNormalization({ virtualBatchSize: 4, betaConstraint: 'unitNorm', betaRegularizer: 'l2' });
    expect(BatchNormalization.fromConfig(JSON.parse(JSON.stringify(ghost.getConfig()))).getConfig()).toEqual({ ...ghost.getConfig() });
  });
});

describe('BatchNormalization#saveWeights / loadWeights / layers.loadLayer', () => {
  it('ships a trained layer through a safetensors file', async () => {
    const { mkdtempSync, writeFileSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'normkit-'));
    const file = path.join(dir, 'bn.safetensors');
    const x = input([6, 3, 4], 14, -1, 3, 'float32');
    const net = new BatchNormalization({ axis: 1, momentum: 0.5 });
    expectError(() => net.saveWeights(file), RangeError, 'BatchNormalization.saveWeights: expected a built layer (call it once first), got a layer without weights');
    for (let i = 0; i < 3; i++) net.apply(x, { training: true });
    net.gamma!.assign([1.5, 0.5, 2]);
    net.saveWeights(file);
    const loaded = nk.layers.loadLayer(file) as InstanceType<typeof BatchNormalization>;
    expect(loaded.getConfig()).toEqual(net.getConfig());
    expect(Array.from(loaded.apply(x).data)).toEqual(Array.from(net.apply(x).data));
    const fresh = new BatchNormalization({ axis: 1, momentum: 0.5 });
    fresh.loadWeights(file);
    expect(fresh.getWeights().map(values)).toEqual(net.getWeights().map(values));
    const header = JSON.parse(readFileSync(file).subarray(8, 8 + Number(readFileSync(file).readBigUInt64LE(0))).toString());
    expect(header['gamma:0']).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });

    const other = new BatchNormalization({ axis: 1 });
    other.apply(input([2, 4, 2], 1));
    const before = other.getWeights().map(values);
    expectError(() => other.loadWeights(file), RangeError, /BatchNormalization.setWeights: expected values\[0\] of shape \[4\]/);
    expect(other.getWeights().map(values)).toEqual(before);
    writeFileSync(path.join(dir, 'bad.safetensors'), Buffer.from([1, 2, 3]));
    expectError(() => nk.layers.loadLayer(path.join(dir, 'bad.safetensors')), RangeError, /expected an 8-byte header length in .*bad.safetensors, got 3 bytes/);
  });
});

describe('BatchNormalization#applyAsync', () => {
  it('gives the sync results and updates moving statistics', async () => {
    const x = input([16, 5], 15, -1, 2, 'float32');
    const a = new BatchNormalization();
    const b = new BatchNormalization();
    const ya = a.apply(x, { training: true });
    const yb = await b.applyAsync(x, { training: true });
    expect(Array.from(yb.data)).toEqual(Array.from(ya.data));
    expect(b.getWeights().map(values)).toEqual(a.getWeights().map(values));
    expect(Array.from((await b.applyAsync(x)).data)).toEqual(Array.from(a.apply(x).data));
    await expect(b.applyAsync(nk.zeros([16, 4]))).rejects.toThrow('BatchNormalization.applyAsync: expected input of rank 2 with 5 channels on axis -1, got shape [16,4]');
  });
});

describe('BatchNormalization#apply with options.out', () => {
  it('writes into a preallocated output, on every path, and rejects bad ones', () => {
    const x3 = input([6, 2, 4], 16, -1, 2, 'float32');
    for (const opts of [{}, { axis: [0, 2] as number[] }, { renorm: true }, { virtualBatchSize: 3 }]) {
      for (const training of [false, true]) {
        const a = new BatchNormalization(opts);
        const b = new BatchNormalization(opts);
        const out = nk.zeros([6, 2, 4]);
        const x = x3;
        const expected = a.apply(x, { training });
        expect(b.apply(x, { training, out })).toBe(out);
        expect(Array.from(out.data)).toEqual(Array.from(expected.data));
      }
    }
    const x = input([6, 4], 16, -1, 2, 'float32');
    const net = new BatchNormalization();
    const out = nk.zeros([6, 4]);
    expect(net.apply(x, { training: true, mask: [1, 1, 0, 1, 1, 1], out })).toBe(out);
    expectError(() => net.apply(x, { out: nk.zeros([6, 5]) }), RangeError, 'BatchNormalization.apply: expected options.out as a float32 tensor of shape [6,4], got a float32 tensor of shape [6,5]');
    expectError(() => net.apply(x, { out: x }), RangeError, 'BatchNormalization.apply: expected options.out not sharing memory with the input, got overlapping buffers');
    expectError(() => net.apply(x, { out: new Float32Array(24) as never }), TypeError, /expected options.out as a Tensor, got Float32Array\(24\)/);
  });
});
