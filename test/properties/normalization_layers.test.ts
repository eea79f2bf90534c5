/**
 * Property tests: LayerNormalization, GroupNormalization and Normalization
 * against float64 references (./reference.ts) over random ranks, axes,
 * sizes, dtypes and flags (fast-check, fixed seeds so CI is repeatable;
 * failures print the shrunk counter-example).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { groupNormOp } from '../../lib/ops/group_norm.js';
import { layerNormOp } from '../../lib/ops/layer_norm.js';
import { checkGradients, randomTensor } from '../gradcheck.js';
import { expectClose, uniform } from '../helpers.js';
import { refGroupNorm, refLayerNorm, refMoments } from './reference.js';

const uniformInit = (lo: number, hi: number, seed: number) => new nk.initializers.RandomUniform({ minval: lo, maxval: hi, seed });
const values = (t: nk.Tensor | nk.Variable | null) => (t === null ? null : t instanceof nk.Tensor ? t.data : t.read().data);

/** Data uniform in [offset - 2, offset + 3) as a tensor of `dtype`. */
function data(shape: number[], seed: number, offset: number, float64: boolean): nk.Tensor {
  const raw = uniform(shape.reduce((a, b) => a * b, 1), seed, offset - 2, offset + 3);
  return nk.tensor(float64 ? raw : Float32Array.from(raw), shape, float64 ? 'float64' : 'float32');
}

/** float32: x is exact and the statistics float32-rounded; an offset of 1e3 costs (offset/std) ulps in x - mean. */
const tolerance = (float64: boolean, offset: number) => (float64 ? 1e-10 : 2e-5 * (1 + Math.abs(offset) / 100));

/** A non-empty subset of the axes of `rank`, from a bit mask, written with random signs in a random order. */
function pickAxes(rank: number, mask: number, negMask: number, shuffle: number): number[] {
  let axes = Array.from({ length: rank }, (_, d) => d).filter((d) => (mask >> d) & 1);
  if (axes.length === 0) axes = [rank - 1];
  const signed = axes.map((d) => ((negMask >> d) & 1 ? d - rank : d));
  return shuffle % 2 ? signed.reverse() : signed;
}

const common = {
  float64: fc.boolean(),
  epsilon: fc.constantFrom(1e-5, 1e-3, 0.1),
  offset: fc.constantFrom(0, 100, -1e3),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
};

describe('LayerNormalization (property)', () => {
  it('matches the float64 reference for any rank, axes, flags and dtype', () => {
    const arb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }),
      mask: fc.nat(31),
      negMask: fc.nat(31),
      shuffle: fc.nat(),
      center: fc.boolean(),
      scale: fc.boolean(),
      rmsScaling: fc.boolean(),
      ...common,
    });
    fc.assert(
      fc.property(arb, (c) => {
        const axis = pickAxes(c.shape.length, c.mask, c.negMask, c.shuffle);
        const x = data(c.shape, c.seed, c.offset, c.float64);
        const ln = new nk.layers.LayerNormalization({
          axis, center: c.center, scale: c.scale, rmsScaling: c.rmsScaling, epsilon: c.epsilon, dtype: x.dtype,
          gammaInitializer: uniformInit(0.5, 2, c.seed), betaInitializer: uniformInit(-1, 1, c.seed + 1),
        });
        const y = ln.apply(x, { training: c.seed % 2 === 0 });
        const expected = refLayerNorm(x.data, c.shape, axis, values(ln.gamma), values(ln.beta), c.epsilon, c.rmsScaling);
        // rmsScaling does not center x: the output carries the offset, relative error stays small.
        expectClose(y.data, expected, tolerance(c.float64, c.offset), tolerance(c.float64, c.rmsScaling ? 0 : c.offset));
      }),
      { seed: 20261128, numRuns: 150 },
    );
  });

  it('has gradients for x, gamma, beta that match central differences in float64', () => {
    const arb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }),
      mask: fc.nat(15),
      negMask: fc.nat(15),
      withGamma: fc.boolean(),
      withBeta: fc.boolean(),
      rmsScaling: fc.boolean(),
      seed: fc.integer({ min: 1, max: 1 << 30 }),
    });
    fc.assert(
      fc.property(arb, (c) => {
        const rank = c.shape.length;
        const axes = pickAxes(rank, c.mask, 0, 0);
        // Rows of one element have zero variance: their output is constant and
        // the gradient through 1/sqrt(var + eps) is steep; use a larger epsilon there.
        const n = axes.reduce((p, a) => p * c.shape[a], 1);
        const epsilon = n === 1 ? 0.5 : 1e-2;
        const pShape = axes.map((a) => c.shape[a]);
        const withBeta = c.withBeta && !c.rmsScaling;
        const inputs = [randomTensor(c.shape, c.seed, -2, 3)];
        if (c.withGamma) inputs.push(randomTensor(pShape, c.seed + 1, 0.5, 1.5));
        if (withBeta) inputs.push(randomTensor(pShape, c.seed + 2, -1, 1));
        const f = (...t: nk.Tensor[]) => layerNormOp(t[0], axes, c.withGamma ? t[1] : null, withBeta ? t[c.withGamma ? 2 : 1] : null, epsilon, c.rmsScaling);
        checkGradients(f, inputs, { rtol: 1e-5, atol: 1e-7 });
      }),
      { seed: 20261129, numRuns: 40 },
    );
  });
});

describe('GroupNormalization (property)', () => {
  it('matches the float64 reference for any rank, channel axis, groups, flags and dtype', () => {
    const arb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 5 }),
      axisPick: fc.nat(),
      negative: fc.boolean(),
      groups: fc.integer({ min: 1, max: 4 }),
      perGroup: fc.integer({ min: 1, max: 3 }),
      instance: fc.boolean(),
      center: fc.boolean(),
      scale: fc.boolean(),
      ...common,
    });
    fc.assert(
      fc.property(arb, (c) => {
        const rank = c.shape.length;
        const axis = 1 + (c.axisPick % (rank - 1));
        const shape = c.shape.slice();
        shape[axis] = c.groups * c.perGroup;
        const x = data(shape, c.seed, c.offset, c.float64);
        const gn = new nk.layers.GroupNormalization({
          groups: c.instance ? -1 : c.groups, axis: c.negative ? axis - rank : axis, center: c.center, scale: c.scale,
          epsilon: c.epsilon, dtype: x.dtype,
          gammaInitializer: uniformInit(0.5, 2, c.seed), betaInitializer: uniformInit(-1, 1, c.seed + 1),
        });
        const y = gn.apply(x);
        const groups = c.instance ? shape[axis] : c.groups;
        const expected = refGroupNorm(x.data, shape, axis, groups, values(gn.gamma), values(gn.beta), c.epsilon);
        expectClose(y.data, expected, tolerance(c.float64, c.offset), tolerance(c.float64, c.offset));
      }),
      { seed: 20261130, numRuns: 150 },
    );
  });

  it('has gradients for x, gamma, beta that match central differences in float64', () => {
    const arb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 4 }),
      axisPick: fc.nat(),
      groups: fc.integer({ min: 1, max: 3 }),
      perGroup: fc.integer({ min: 1, max: 2 }),
      withGamma: fc.boolean(),
      withBeta: fc.boolean(),
      seed: fc.integer({ min: 1, max: 1 << 30 }),
    });
    fc.assert(
      fc.property(arb, (c) => {
        const axis = 1 + (c.axisPick % (c.shape.length - 1));
        const shape = c.shape.slice();
        shape[axis] = c.groups * c.perGroup;
        const n = (shape.reduce((a, b) => a * b, 1) / shape[0]) / c.groups;
        const epsilon = n === 1 ? 0.5 : 1e-2;
        const inputs = [randomTensor(shape, c.seed, -2, 3)];
        if (c.withGamma) inputs.push(randomTensor([shape[axis]], c.seed + 1, 0.5, 1.5));
        if (c.withBeta) inputs.push(randomTensor([shape[axis]], c.seed + 2, -1, 1));
        const f = (...t: nk.Tensor[]) => groupNormOp(t[0], axis, c.groups, c.withGamma ? t[1] : null, c.withBeta ? t[c.withGamma ? 2 : 1] : null, epsilon);
        checkGradients(f, inputs, { rtol: 1e-5, atol: 1e-7 });
      }),
      { seed: 20261131, numRuns: 40 },
    );
  });
});

describe('Normalization (property)', () => {
  it('adapts to the statistics of the concatenated batches, whatever the split and order, and normalizes with them', () => {
    const arb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      batch: fc.integer({ min: 1, max: 12 }),
      keepMask: fc.nat(15),
      negative: fc.boolean(),
      cuts: fc.array(fc.nat(), { maxLength: 4 }),
      reverse: fc.boolean(),
      invert: fc.boolean(),
      ...common,
    });
    fc.assert(
      fc.property(arb, (c) => {
        // Batches split axis 0, so axis 0 is reduced; the kept axes are a subset of the others.
        const shape = [c.batch, ...c.shape];
        const rank = shape.length;
        const keep = Array.from({ length: rank - 1 }, (_, i) => i + 1).filter((d) => (c.keepMask >> (d - 1)) & 1);
        const axis = keep.length === 0 ? null : keep.map((d) => (c.negative ? d - rank : d));
        const x = data(shape, c.seed, c.offset, c.float64);
        const row = x.size / c.batch;
        const bounds = [...new Set([0, ...c.cuts.map((k) => k % (c.batch + 1)), c.batch])].sort((a, b) => a - b);
        let batches = bounds.slice(1).map((end, i) => new nk.Tensor(x.data.slice(bounds[i] * row, end * row), [end - bounds[i], ...c.shape]));
        if (c.reverse) batches = batches.reverse();
        const layer = new nk.layers.Normalization({ axis, invert: c.invert, dtype: x.dtype });
        layer.adapt(batches);
        const ref = refMoments(x.data, shape, keep);
        const tol = c.float64 ? 1e-12 : 1e-6;
        expectClose(values(layer.adaptMean!)!, ref.mean, tol, tol * (1 + Math.abs(c.offset)));
        expectClose(values(layer.adaptVariance!)!, ref.variance, c.float64 ? 1e-10 : 1e-3, c.float64 ? 1e-12 : 1e-5);

        const y = layer.apply(x);
        const meanK = values(layer.adaptMean!)!;
        const varK = values(layer.adaptVariance!)!;
        const strides = shape.map((_, d) => shape.slice(d + 1).reduce((p, q) => p * q, 1));
        const expected = Array.from(x.data, (v, k) => {
          const idx = keep.reduce((acc, d) => acc * shape[d] + (Math.floor(k / strides[d]) % shape[d]), 0);
          const std = Math.max(Math.sqrt(varK[idx]), 1e-7);
          return c.invert ? meanK[idx] + v * std : (v - meanK[idx]) / std;
        });
        const outTol = c.float64 ? 1e-12 : 1e-5;
        expectClose(y.data, expected, outTol, outTol * (1 + Math.abs(c.offset)));
      }),
      { seed: 20261201, numRuns: 120 },
    );
  });
});
