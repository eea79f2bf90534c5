import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { groupNormOp } from '../../lib/ops/group_norm.js';
import { checkGradients, randomTensor } from '../gradcheck.js';
import { expectClose, expectError, randomInit, uniformTensor as input, values } from '../helpers.js';
import { refGroupNorm, refLayerNorm } from '../properties/reference.js';

const { GroupNormalization, LayerNormalization } = nk.layers;

describe('GroupNormalization#constructor', () => {
  it('rejects bad arguments with TypeError/RangeError naming the parameter', () => {
    expectError(() => new GroupNormalization({ groups: 0 }), RangeError, 'GroupNormalization: expected groups >= 1, or -1 for one group per channel, got 0');
    expectError(() => new GroupNormalization({ groups: -2 }), RangeError, 'GroupNormalization: expected groups >= 1, or -1 for one group per channel, got -2');
    expectError(() => new GroupNormalization({ groups: 2.5 }), TypeError, 'GroupNormalization: expected groups as an integer, got 2.5');
    expectError(() => new GroupNormalization({ groups: '4' as never }), TypeError, 'GroupNormalization: expected groups as an integer, got "4"');
    expectError(() => new GroupNormalization({ axis: [1] as never }), TypeError, 'GroupNormalization: expected axis as an integer, got [1]');
    expectError(() => new GroupNormalization({ epsilon: -1 }), RangeError, 'GroupNormalization: expected epsilon finite and > 0, got -1');
    expectError(() => new GroupNormalization({ center: 0 as never }), TypeError, 'GroupNormalization: expected center as a boolean, got 0');
    expectError(() => new GroupNormalization({ betaInitializer: 'nope' }), RangeError, /^GroupNormalization: expected betaInitializer one of .*, got "nope"$/);
    expectError(() => new GroupNormalization({ gammaRegularizer: 'l9' }), RangeError, 'GroupNormalization: expected gammaRegularizer one of l1, l2, l1l2, got "l9"');
  });

  it('uses Keras 3 defaults (groups 32, axis -1) and Keras names', () => {
    const gn = new GroupNormalization();
    expect(gn.name).toMatch(/^group_normalization(_\d+)?$/);
    expect(gn.getConfig()).toEqual({
      name: gn.name, trainable: true, dtype: 'float32', groups: 32, axis: -1, epsilon: 1e-3, center: true, scale: true,
      betaInitializer: { className: 'Zeros', config: {} }, gammaInitializer: { className: 'Ones', config: {} },
      betaRegularizer: null, gammaRegularizer: null, betaConstraint: null, gammaConstraint: null,
    });
  });
});

describe('GroupNormalization#apply', () => {
  it('rejects inputs it cannot normalize, and leaves the layer unchanged', () => {
    const gn = new GroupNormalization({ groups: 4 });
    expectError(() => gn.apply(nk.zeros([8])), RangeError, 'GroupNormalization.apply: expected input of rank >= 2 (batch and channel axes), got shape [8]');
    expectError(() => gn.apply(nk.zeros([2, 3, 6])), RangeError, 'GroupNormalization.apply: expected groups (4) to divide the channels on axis -1, got 6 channels in shape [2,3,6]');
    expectError(() => gn.apply(nk.zeros([2, 3, 2])), RangeError, 'GroupNormalization.apply: expected groups (4) to divide the channels on axis -1, got 2 channels in shape [2,3,2]');
    expectError(() => gn.apply(nk.zeros([2, 0, 8])), RangeError, 'GroupNormalization.apply: expected input without zero-size dimensions other than the batch axis, got shape [2,0,8]');
    expectError(() => new GroupNormalization({ groups: 1, axis: 0 }).apply(nk.zeros([2, 3])), RangeError, 'GroupNormalization.apply: expected a channel axis other than the batch axis 0, got axis 0 for input of rank 2');
    expectError(() => new GroupNormalization({ groups: 1, axis: -2 }).apply(nk.zeros([2, 3])), RangeError, /expected a channel axis other than the batch axis 0, got axis -2/);
    expectError(() => new GroupNormalization({ groups: 1, axis: 3 }).apply(nk.zeros([2, 3])), RangeError, 'GroupNormalization.apply: expected axis in [-2, 1] for input of rank 2, got 3');
    expect(gn.built).toBe(false);

    gn.apply(input([2, 3, 8], 1));
    const before = gn.getWeights().map(values);
    expectError(() => gn.apply(nk.zeros([2, 3, 12])), RangeError, 'GroupNormalization.apply: expected input of rank 3 with 8 channels on axis -1, got shape [2,3,12]');
    expectError(() => gn.apply(nk.zeros([2, 8])), RangeError, /expected input of rank 3 with 8 channels on axis -1, got shape \[2,8\]/);
    expect(gn.getWeights().map(values)).toEqual(before);
    // Spatial sizes and the batch may change after build (as Keras' InputSpec).
    expect(gn.apply(nk.ones([5, 7, 8])).shape).toEqual([5, 7, 8]);
  });

  for (const [label, shape, axis, groups] of [
    ['channels-last NHWC (transposed)', [2, 3, 4, 6], -1, 3],
    ['channels-first NCHW (in place)', [2, 6, 3, 4], 1, 2],
    ['rank 2 [N, C]', [4, 8], -1, 4],
    ['middle axis of rank 4', [2, 3, 6, 2], 2, 3],
    ['groups: 1', [3, 5, 4], -1, 1],
    ['instance normalization, groups: -1', [2, 5, 4], 1, -1],
    ['rank 5 channels-last', [2, 2, 3, 2, 4], -1, 2],
  ] as const) {
    it(`matches the float64 reference: ${label}`, () => {
      const x = input(shape as unknown as number[], 13, -3, 5);
      const gn = new GroupNormalization({ groups, axis, dtype: 'float64', gammaInitializer: randomInit(5, 0.5, 1.5), betaInitializer: randomInit(6, -1, 1) });
      const y = gn.apply(x);
      const channels = shape[axis < 0 ? axis + shape.length : axis];
      expect(gn.gamma!.shape).toEqual([channels]);
      expect(gn.resolvedGroups).toBe(groups === -1 ? channels : groups);
      expectClose(y.data, refGroupNorm(x.data, shape, axis, groups === -1 ? channels : groups, values(gn.gamma!), values(gn.beta!), 1e-3), 1e-12, 1e-12);
    });
  }

  it('with groups: 1 equals LayerNormalization over every non-batch axis with per-channel gamma/beta', () => {
    const x = input([3, 4, 5], 2);
    const y = new GroupNormalization({ groups: 1, dtype: 'float64', center: false, scale: false }).apply(x);
    expectClose(y.data, refLayerNorm(x.data, [3, 4, 5], [1, 2], null, null, 1e-3), 1e-12, 1e-12);
    const z = new LayerNormalization({ axis: [1, 2], dtype: 'float64', center: false, scale: false }).apply(x);
    expectClose(y.data, z.data, 1e-13, 1e-13);
  });

  it('computes in float32 to float32 rounding, even far from zero (mean 1e4, std 1)', () => {
    const x = nk.add(nk.randomNormal([4, 8, 8, 16], { seed: 3 }), 1e4);
    const y = new GroupNormalization({ groups: 4, epsilon: 1e-5 }).apply(x);
    expect(y.dtype).toBe('float32');
    expectClose(y.data, refGroupNorm(x.data, [4, 8, 8, 16], -1, 4, null, null, 1e-5), 1e-3, 2e-3);
  });

  it('gives the same result through applyAsync (thread-pool kernel), channels-last and channels-first', async () => {
    for (const [shape, axis] of [[[2, 3, 4, 6], -1], [[2, 6, 3, 4], 1]] as const) {
      const x = input(shape as unknown as number[], 4, -2, 3, 'float32');
      const gn = new GroupNormalization({ groups: 3, axis, gammaInitializer: randomInit(1, 0.5, 1.5), betaInitializer: randomInit(2, -1, 1) });
      expect(values(await gn.applyAsync(x))).toEqual(values(gn.apply(x)));
    }
  });

  it('creates per-channel gamma/beta per center/scale, and handles an empty batch', () => {
    const gn = new GroupNormalization({ groups: 2, scale: false });
    const y = gn.apply(nk.zeros([0, 3, 4]));
    expect(y.shape).toEqual([0, 3, 4]);
    expect(gn.variables.map((v) => v.name)).toEqual([`${gn.name}/beta:0`]);
  });
});

describe('GroupNormalization gradients', () => {
  const cases: [string, number[], number, number, boolean, boolean][] = [
    ['channels-last', [2, 3, 4], 2, 2, true, true],
    ['channels-first', [2, 4, 3], 1, 2, true, true],
    ['rank 4 middle axis', [2, 2, 4, 2], 2, 4, true, true],
    ['rank 2, one group', [3, 4], 1, 1, true, true],
    ['without gamma and beta', [2, 3, 4], 2, 2, false, false],
    ['beta only', [2, 4, 3], 1, 2, false, true],
  ];
  for (const [label, shape, axis, groups, withGamma, withBeta] of cases) {
    it(`match central differences in float64 for x, gamma, beta: ${label}`, () => {
      const inputs = [randomTensor(shape, 1, -2, 3)];
      if (withGamma) inputs.push(randomTensor([shape[axis]], 2, 0.5, 1.5));
      if (withBeta) inputs.push(randomTensor([shape[axis]], 3, -1, 1));
      const f = (...t: nk.Tensor[]) => groupNormOp(t[0], axis, groups, withGamma ? t[1] : null, withBeta ? t[withGamma ? 2 : 1] : null, 1e-3);
      checkGradients(f, inputs, { rtol: 1e-5, atol: 1e-7 });
    });
  }

  it('reach the layer variables through the tape', () => {
    const x = input([2, 3, 4], 7);
    const gn = new GroupNormalization({ groups: 2, dtype: 'float64' });
    const tape = new nk.GradientTape();
    const loss = tape.record(() => nk.sum(nk.mul(gn.apply(x), x)));
    const [dGamma, dBeta] = tape.gradient(loss, gn.trainableVariables);
    expect(dGamma!.shape).toEqual([4]);
    // d/dbeta of sum(y * x) is the per-channel sum of x.
    const expected = [0, 1, 2, 3].map((c) => values(x).filter((_, k) => k % 4 === c).reduce((a, b) => a + b, 0));
    expectClose(dBeta!.data, expected, 1e-12, 1e-12);
  });
});

describe('GroupNormalization regularizers, constraints and config', () => {
  it('adds penalties to losses and projects after optimizer steps', () => {
    const gn = new GroupNormalization({ groups: 2, gammaRegularizer: 'l2', betaConstraint: 'nonNeg', dtype: 'float64' });
    const x = input([2, 4], 4);
    gn.apply(x);
    expect(gn.losses.map((t) => t.item())).toEqual([0.01 * 4]);
    const tape = new nk.GradientTape();
    const loss = tape.record(() => nk.sum(nk.mul(gn.apply(x), 10)));
    new nk.optimizers.SGD({ learningRate: 1 }).applyGradients(nk.zip(tape.gradient(loss, gn.trainableVariables), gn.trainableVariables));
    expect(values(gn.beta!)).toEqual([0, 0, 0, 0]);
  });

  it('round-trips every argument through getConfig/fromConfig and JSON, and through loadLayer', () => {
    const gn = new GroupNormalization({
      name: 'gn_config', groups: -1, axis: 1, epsilon: 1e-5, center: true, scale: false, dtype: 'float64',
      betaInitializer: randomInit(2, -1, 1), betaRegularizer: new nk.regularizers.L1({ l1: 0.3 }), betaConstraint: new nk.constraints.UnitNorm(),
    });
    const config = gn.getConfig();
    expect(config.groups).toBe(-1);
    const copy = GroupNormalization.fromConfig(JSON.parse(JSON.stringify(config)));
    expect(copy.getConfig()).toEqual(config);
    const x = input([2, 3, 4], 8);
    expect(values(copy.apply(x))).toEqual(values(gn.apply(x)));
    expectError(() => GroupNormalization.fromConfig('x' as never), TypeError, 'GroupNormalization.fromConfig: expected a config object, got "x"');

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'normkit-gn-'));
    const file = path.join(dir, 'gn.safetensors');
    gn.saveWeights(file);
    const loaded = nk.layers.loadLayer(file);
    expect(loaded).toBeInstanceOf(GroupNormalization);
    expect(values(loaded.apply(x))).toEqual(values(gn.apply(x)));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
