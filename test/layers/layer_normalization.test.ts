import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { layerNormOp } from '../../lib/ops/layer_norm.js';
import { checkGradients, randomTensor } from '../gradcheck.js';
import { expectClose, expectError, randomInit, uniformTensor as input, values } from '../helpers.js';
import { refLayerNorm } from '../properties/reference.js';

const { LayerNormalization } = nk.layers;

describe('LayerNormalization#constructor', () => {
  it('rejects bad arguments with TypeError/RangeError naming the parameter', () => {
    expectError(() => new LayerNormalization({ epsilon: 0 }), RangeError, 'LayerNormalization: expected epsilon finite and > 0, got 0');
    expectError(() => new LayerNormalization({ epsilon: NaN }), RangeError, 'LayerNormalization: expected epsilon finite and > 0, got NaN');
    expectError(() => new LayerNormalization({ epsilon: '1e-3' as never }), TypeError, 'LayerNormalization: expected epsilon as a number, got "1e-3"');
    expectError(() => new LayerNormalization({ axis: 1.5 }), TypeError, 'LayerNormalization: expected axis as an integer or a non-empty array of integers, got 1.5');
    expectError(() => new LayerNormalization({ axis: [] }), TypeError, 'LayerNormalization: expected axis as an integer or a non-empty array of integers, got []');
    expectError(() => new LayerNormalization({ axis: [1, -1, 1] }), RangeError, 'LayerNormalization: expected distinct axes, got [1,-1,1]');
    expectError(() => new LayerNormalization({ center: 'yes' as never }), TypeError, 'LayerNormalization: expected center as a boolean, got "yes"');
    expectError(() => new LayerNormalization({ scale: null as never }), TypeError, 'LayerNormalization: expected scale as a boolean, got null');
    expectError(() => new LayerNormalization({ rmsScaling: 1 as never }), TypeError, 'LayerNormalization: expected rmsScaling as a boolean, got 1');
    expectError(() => new LayerNormalization({ gammaInitializer: 'glorot' }), RangeError, /^LayerNormalization: expected gammaInitializer one of .*, got "glorot"$/);
    expectError(() => new LayerNormalization({ betaRegularizer: 'l3' }), RangeError, 'LayerNormalization: expected betaRegularizer one of l1, l2, l1l2, got "l3"');
    expectError(() => new LayerNormalization({ gammaConstraint: 42 as never }), TypeError, /^LayerNormalization: expected gammaConstraint as a Constraint, a name or \{ className, config \}, got 42$/);
  });

  it('uses Keras 3 defaults and unique Keras names', () => {
    const a = new LayerNormalization();
    const b = new LayerNormalization();
    expect(a.name).toMatch(/^layer_normalization(_\d+)?$/);
    expect(b.name).not.toBe(a.name);
    expect(a.getConfig()).toEqual({
      name: a.name, trainable: true, dtype: 'float32', axis: -1, epsilon: 1e-3, center: true, scale: true, rmsScaling: false,
      betaInitializer: { className: 'Zeros', config: {} }, gammaInitializer: { className: 'Ones', config: {} },
      betaRegularizer: null, gammaRegularizer: null, betaConstraint: null, gammaConstraint: null,
    });
  });
});

describe('LayerNormalization#apply', () => {
  it('rejects inputs it cannot normalize, and leaves the layer unchanged', () => {
    const ln = new LayerNormalization({ name: 'ln_reject' });
    expectError(() => ln.apply(nk.tensor(3)), RangeError, 'LayerNormalization.apply: expected input of rank >= 1, got shape []');
    expectError(() => new LayerNormalization({ axis: 2 }).apply(nk.zeros([2, 3])), RangeError, 'LayerNormalization.apply: expected axis in [-2, 1] for input of rank 2, got 2');
    expectError(() => new LayerNormalization({ axis: [0, -3] }).apply(nk.zeros([2, 3])), RangeError, /expected axis in \[-2, 1\] for input of rank 2, got -3/);
    expectError(() => ln.apply(nk.zeros([2, 0])), RangeError, 'LayerNormalization.apply: expected non-empty normalized axes (axis -1), got shape [2,0]');
    expectError(() => ln.apply(nk.zeros([2, 3]), { training: 1 as never }), TypeError, 'LayerNormalization.apply: expected options.training as a boolean, got 1');
    expect(ln.built).toBe(false);
    expect(ln.variables).toEqual([]);

    ln.apply(input([4, 3], 1));
    const before = ln.getWeights().map(values);
    expectError(() => ln.apply(nk.zeros([4, 5])), RangeError, 'LayerNormalization.apply: expected input of rank 2 with 3 features on axis -1, got shape [4,5]');
    expectError(() => ln.apply(nk.zeros([4, 1, 3])), RangeError, 'LayerNormalization.apply: expected input of rank 2 with 3 features on axis -1, got shape [4,1,3]');
    expect(ln.getWeights().map(values)).toEqual(before);
  });

  it('rejects asynchronously in applyAsync', async () => {
    const ln = new LayerNormalization();
    ln.apply(nk.zeros([2, 3]));
    await expect(ln.applyAsync(nk.zeros([2, 4]))).rejects.toThrow('LayerNormalization.applyAsync: expected input of rank 2 with 3 features on axis -1, got shape [2,4]');
    expect((await ln.applyAsync(nk.ones([2, 3]))).shape).toEqual([2, 3]);
  });

  for (const [label, shape, axis] of [
    ['a vector', [7], -1],
    ['rows of features (axis -1)', [5, 9], -1],
    ['trailing axes [1, 2]', [3, 4, 5], [1, 2]],
    ['every axis', [2, 3, 4], [0, 1, 2]],
    ['leading axis 0', [6, 5], 0],
    ['axes around the kept one [0, 2]', [3, 4, 5], [0, 2]],
    ['middle axis 1 (kept axes not contiguous: transposed)', [2, 5, 3], 1],
    ['axes [1, 3] of rank 4 (transposed)', [2, 3, 4, 5], [3, 1]],
    ['rank 5, axes [-1, -3]', [2, 3, 2, 4, 3], [-1, -3]],
  ] as const) {
    it(`matches the float64 reference: ${label}`, () => {
      const x = input(shape as unknown as number[], 11, -3, 5);
      const ln = new LayerNormalization({ axis: axis as number | number[], dtype: 'float64', gammaInitializer: randomInit(3, 0.5, 1.5), betaInitializer: randomInit(4, -1, 1) });
      const y = ln.apply(x);
      const axes = (Array.isArray(axis) ? axis : [axis]) as number[];
      const sorted = axes.map((a) => (a < 0 ? a + shape.length : a)).sort((a, b) => a - b);
      expect(ln.gamma!.shape).toEqual(sorted.map((a) => shape[a]));
      expect(y.shape).toEqual(shape);
      expectClose(y.data, refLayerNorm(x.data, shape, axes, values(ln.gamma!), values(ln.beta!), 1e-3), 1e-12, 1e-12);
    });
  }

  it('computes in float32 to float32 rounding, even far from zero (mean 1e4, std 1)', () => {
    const x = nk.add(nk.randomNormal([16, 64], { seed: 5 }), 1e4);
    const ln = new LayerNormalization({ epsilon: 1e-5 });
    const y = ln.apply(x);
    expect(y.dtype).toBe('float32');
    expectClose(y.data, refLayerNorm(x.data, [16, 64], [-1], null, null, 1e-5), 1e-3, 2e-3);
  });

  it('creates gamma/beta per center/scale/rmsScaling as Keras 3, named <layer>/gamma:0 and beta:0', () => {
    const both = new LayerNormalization();
    both.apply(nk.zeros([2, 3]));
    expect(both.variables.map((v) => v.name)).toEqual([`${both.name}/gamma:0`, `${both.name}/beta:0`]);
    expect(both.trainableVariables.length).toBe(2);
    const none = new LayerNormalization({ center: false, scale: false });
    none.apply(nk.zeros([2, 3]));
    expect(none.variables).toEqual([]);
    const rms = new LayerNormalization({ rmsScaling: true, center: true, scale: false });
    rms.apply(nk.zeros([2, 3]));
    expect(rms.variables.map((v) => v.name)).toEqual([`${rms.name}/gamma:0`]);
    expect(rms.beta).toBeNull();
  });

  it("rmsScaling follows Keras 3's formula x / sqrt(var + eps) * gamma (variance about the mean, x not centered)", () => {
    const x = input([4, 6], 21, 1, 3);
    const ln = new LayerNormalization({ rmsScaling: true, dtype: 'float64', gammaInitializer: randomInit(8, 0.5, 2) });
    const y = ln.apply(x);
    expectClose(y.data, refLayerNorm(x.data, [4, 6], [-1], values(ln.gamma!), null, 1e-3, true), 1e-12, 1e-12);
  });

  it('is the same in training and inference, and returns an empty tensor for zero rows', () => {
    const x = input([3, 4], 2);
    const ln = new LayerNormalization({ dtype: 'float64' });
    expect(values(ln.apply(x, { training: true }))).toEqual(values(ln.apply(x)));
    const empty = ln.apply(nk.zeros([0, 4], 'float64'));
    expect(empty.shape).toEqual([0, 4]);
  });

  it('gives the same result through applyAsync (thread-pool kernel), in place and transposed, with rmsScaling', async () => {
    for (const [shape, axis, rmsScaling] of [[[5, 9], -1, false], [[2, 5, 3], 1, false], [[3, 4, 5], [0, 2], true]] as const) {
      const x = input(shape as unknown as number[], 4, -2, 3, 'float32');
      const ln = new LayerNormalization({ axis: axis as number | number[], rmsScaling, gammaInitializer: randomInit(1, 0.5, 1.5), betaInitializer: randomInit(2, -1, 1) });
      const sync = ln.apply(x);
      const pending = ln.applyAsync(x);
      x.data.fill(0); // the kernel works on a copy: writing x after the call does not change the result
      expect(values(await pending)).toEqual(values(sync));
    }
    expect((await new LayerNormalization().applyAsync(nk.zeros([0, 3]))).shape).toEqual([0, 3]);
  });

  it('casts inputs to the layer dtype', () => {
    const ln = new LayerNormalization({ dtype: 'float64' });
    const y = ln.apply(input([2, 3], 1, -1, 1, 'float32'));
    expect(y.dtype).toBe('float64');
  });
});

describe('LayerNormalization gradients', () => {
  const cases: [string, number[], number[], boolean, boolean, boolean][] = [
    ['axis -1', [3, 5], [1], true, true, false],
    ['axes [1, 2]', [2, 3, 4], [1, 2], true, true, false],
    ['axes [0, 2] (in place, outer and inner)', [3, 2, 4], [0, 2], true, true, false],
    ['axis 1 of rank 3 (transposed)', [2, 4, 3], [1], true, true, false],
    ['without gamma and beta', [3, 5], [1], false, false, false],
    ['gamma only', [3, 5], [1], true, false, false],
    ['rmsScaling', [3, 5], [1], true, false, true],
    ['rmsScaling, axes [0, 2]', [3, 2, 4], [0, 2], true, false, true],
  ];
  for (const [label, shape, axes, withGamma, withBeta, rms] of cases) {
    it(`match central differences in float64 for x, gamma, beta: ${label}`, () => {
      const pShape = axes.map((a) => shape[a]);
      const inputs = [randomTensor(shape, 1, -2, 3)];
      if (withGamma) inputs.push(randomTensor(pShape, 2, 0.5, 1.5));
      if (withBeta) inputs.push(randomTensor(pShape, 3, -1, 1));
      const f = (...t: nk.Tensor[]) => layerNormOp(t[0], axes, withGamma ? t[1] : null, withBeta ? t[withGamma ? 2 : 1] : null, 1e-3, rms);
      checkGradients(f, inputs, { rtol: 1e-5, atol: 1e-7 });
    });
  }

  it('reach the layer variables through the tape and train them with SGD', () => {
    const x = input([4, 6], 7);
    const ln = new LayerNormalization({ dtype: 'float64', gammaInitializer: randomInit(1, 0.5, 1.5) });
    const tape = new nk.GradientTape();
    tape.watch(x);
    const loss = tape.record(() => nk.mean(nk.square(nk.sub(ln.apply(x), 0.5))));
    const [dx, dGamma, dBeta] = tape.gradient(loss, [x, ...ln.trainableVariables]);
    const direct = new nk.GradientTape();
    const [gx, gamma, beta] = [x, ln.gamma!.snapshot(), ln.beta!.snapshot()];
    direct.watch([gx, gamma, beta]);
    const l2 = direct.record(() => nk.mean(nk.square(nk.sub(layerNormOp(gx, [1], gamma, beta, 1e-3), 0.5))));
    const expected = direct.gradient(l2, [gx, gamma, beta]);
    expectClose(dx!.data, expected[0]!.data, 1e-14, 1e-15);
    expectClose(dGamma!.data, expected[1]!.data, 1e-14, 1e-15);
    expectClose(dBeta!.data, expected[2]!.data, 1e-14, 1e-15);
    const opt = new nk.optimizers.SGD({ learningRate: 0.5 });
    const before = loss.item();
    for (let i = 0; i < 5; i++) {
      const t = new nk.GradientTape();
      const l = t.record(() => nk.mean(nk.square(nk.sub(ln.apply(x), 0.5))));
      opt.applyGradients(nk.zip(t.gradient(l, ln.trainableVariables), ln.trainableVariables));
    }
    expect(nk.mean(nk.square(nk.sub(ln.apply(x), 0.5))).item()).toBeLessThan(before);
  });
});

describe('LayerNormalization regularizers and constraints', () => {
  it('adds differentiable penalties to losses and projects after optimizer steps', () => {
    const ln = new LayerNormalization({
      gammaRegularizer: new nk.regularizers.L2({ l2: 0.1 }),
      betaRegularizer: 'l1',
      gammaConstraint: new nk.constraints.MaxNorm({ maxValue: 1 }),
      betaConstraint: 'nonNeg',
      dtype: 'float64',
    });
    const x = input([3, 4], 5);
    ln.apply(x);
    const [g, b] = ln.losses.map((t) => t.item());
    expect(g).toBeCloseTo(0.1 * 4, 12);
    expect(b).toBe(0);
    const tape = new nk.GradientTape();
    const loss = tape.record(() => ln.losses.reduce((a, t) => nk.add(a, t), nk.sum(nk.mul(ln.apply(x), x))));
    const grads = tape.gradient(loss, ln.trainableVariables);
    new nk.optimizers.SGD({ learningRate: 1 }).applyGradients(nk.zip(grads, ln.trainableVariables));
    expect(Math.hypot(...values(ln.gamma!))).toBeLessThanOrEqual(1 + 1e-9);
    expect(values(ln.beta!).every((v) => v >= 0)).toBe(true);
  });
});

describe('LayerNormalization#getConfig / fromConfig', () => {
  it('round-trips every argument, through JSON too, and rebuilds the same layer', () => {
    const ln = new LayerNormalization({
      name: 'ln_config', axis: [1, -1], epsilon: 1e-5, center: false, scale: true, rmsScaling: false, dtype: 'float64', trainable: false,
      gammaInitializer: randomInit(9, 0, 1), betaInitializer: 'ones',
      gammaRegularizer: new nk.regularizers.L1L2({ l1: 0.1, l2: 0.2 }), betaRegularizer: null,
      gammaConstraint: new nk.constraints.MinMaxNorm({ minValue: 0.5, maxValue: 2, rate: 0.5 }), betaConstraint: 'nonNeg',
    });
    const config = ln.getConfig();
    const copy = LayerNormalization.fromConfig(JSON.parse(JSON.stringify(config)));
    expect(copy.getConfig()).toEqual(config);
    expect(copy).toBeInstanceOf(LayerNormalization);
    const x = input([2, 3, 4], 3);
    expect(values(copy.apply(x))).toEqual(values(ln.apply(x)));
    expectError(() => LayerNormalization.fromConfig(null as never), TypeError, 'LayerNormalization.fromConfig: expected a config object, got null');
  });

  it('saves and loads through layers.loadLayer', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'normkit-ln-'));
    const ln = new LayerNormalization({ axis: [1, 2], gammaInitializer: randomInit(2, 0, 1), betaInitializer: randomInit(3, 0, 1) });
    const x = input([2, 3, 4], 9, -1, 1, 'float32');
    const y = ln.apply(x);
    const file = path.join(dir, 'ln.safetensors');
    ln.saveWeights(file);
    const loaded = nk.layers.loadLayer(file);
    expect(loaded).toBeInstanceOf(LayerNormalization);
    expect(values(loaded.apply(x))).toEqual(values(y));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
