/**
 * Property tests: BatchNormalization against a float64 reference over random
 * ranks, axes, sizes, dtypes and flags (fast-check, fixed seed so CI is
 * repeatable; failures print the shrunk counter-example).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { expectClose, refNormalize, refStats, uniform } from '../helpers.js';

const caseArb = fc
  .record({
    shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 5 }),
    axisPick: fc.nat(),
    negative: fc.boolean(),
    center: fc.boolean(),
    scale: fc.boolean(),
    training: fc.boolean(),
    float64: fc.boolean(),
    epsilon: fc.constantFrom(1e-5, 1e-3, 0.1),
    offset: fc.constantFrom(0, 100, -1e3),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  })
  .filter((c) => {
    const axis = c.axisPick % c.shape.length;
    const perChannel = c.shape.reduce((a, b) => a * b, 1) / c.shape[axis];
    return !c.training || perChannel >= 2;
  });

describe('BatchNormalization (property)', () => {
  it('matches the float64 reference for any rank, axis, flags and dtype', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const rank = c.shape.length;
        const axis = c.axisPick % rank;
        const size = c.shape.reduce((a, b) => a * b, 1);
        const dtype = c.float64 ? 'float64' : 'float32';
        const raw = uniform(size, c.seed, c.offset - 2, c.offset + 3);
        const x = nk.tensor(c.float64 ? raw : Float32Array.from(raw), c.shape, dtype);
        const net = new nk.layers.BatchNormalization({
          axis: c.negative ? axis - rank : axis,
          center: c.center,
          scale: c.scale,
          epsilon: c.epsilon,
          dtype,
          gammaInitializer: new nk.initializers.RandomUniform({ minval: 0.5, maxval: 2, seed: c.seed }),
          betaInitializer: new nk.initializers.RandomUniform({ minval: -1, maxval: 1, seed: c.seed + 1 }),
          movingMeanInitializer: new nk.initializers.RandomUniform({ minval: -1, maxval: 1, seed: c.seed + 2 }),
          movingVarianceInitializer: new nk.initializers.RandomUniform({ minval: 0.5, maxval: 2, seed: c.seed + 3 }),
        });
        net.apply(x);
        const before = net.getWeights();
        const y = net.apply(x, { training: c.training });
        const outer = c.shape.slice(0, axis).reduce((a, b) => a * b, 1);
        const channels = c.shape[axis];
        const inner = size / outer / channels;
        const at = (name: string) => before[net.variables.findIndex((v) => v.name.endsWith(`/${name}:0`))]?.data ?? null;
        const stats = c.training ? refStats(x.data, outer, channels, inner) : { mean: at('moving_mean')!, variance: at('moving_variance')! };
        const expected = refNormalize(x.data, outer, channels, inner, stats.mean, stats.variance, c.epsilon, at('gamma'), at('beta'));
        // float32: x is exact, the statistics are float32-rounded; |xhat| can reach sqrt(n), and an offset
        // of 1e3 costs (offset/std) ulps in x - mean.
        const tol = c.float64 ? 1e-10 : 2e-5 * (1 + Math.abs(c.offset) / 100);
        expectClose(y.data, expected, tol, tol);
      }),
      { seed: 20261127, numRuns: 150 },
    );
  });
});
