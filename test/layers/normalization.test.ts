import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { checkGradients, randomTensor } from '../gradcheck.js';
import { expectClose, expectError, uniformTensor as input, values } from '../helpers.js';
import { refMoments } from '../properties/reference.js';

const { Normalization } = nk.layers;


/** Splits `x` along axis 0 into batches of the given sizes. */
function split(x: nk.Tensor, sizes: number[]): nk.Tensor[] {
  const row = x.size / x.shape[0];
  let at = 0;
  return sizes.map((s) => {
    const t = new nk.Tensor(x.data.slice(at * row, (at + s) * row), [s, ...x.shape.slice(1)]);
    at += s;
    return t;
  });
}

describe('Normalization#constructor', () => {
  it('rejects bad arguments with TypeError/RangeError naming the parameter', () => {
    expectError(() => new Normalization({ axis: 1.5 }), TypeError, 'Normalization: expected axis as an integer, an array of integers, or null, got 1.5');
    expectError(() => new Normalization({ axis: [0, 0] }), RangeError, 'Normalization: expected distinct axes, got [0,0]');
    expectError(() => new Normalization({ invert: 'no' as never }), TypeError, 'Normalization: expected invert as a boolean, got "no"');
    expectError(() => new Normalization({ mean: 1 }), RangeError, 'Normalization: expected mean and variance given together, got mean only');
    expectError(() => new Normalization({ variance: 1 }), RangeError, 'Normalization: expected mean and variance given together, got variance only');
    expectError(() => new Normalization({ mean: [1, 2], variance: [1, 2, 3] }), RangeError, 'Normalization: expected mean and variance of the same shape, got [2] and [3]');
    expectError(() => new Normalization({ mean: [[1, 2]], variance: [[1, 2]] }), RangeError, 'Normalization: expected mean of rank <= 1 (the number of kept axes in axis -1), got shape [1,2]');
    expectError(() => new Normalization({ axis: null, mean: [1], variance: [1] }), RangeError, 'Normalization: expected mean of rank <= 0 (the number of kept axes in axis null), got shape [1]');
    expectError(() => new Normalization({ mean: [0, 0], variance: [1, -1] }), RangeError, 'Normalization: expected variance >= 0 everywhere, got -1');
    expectError(() => new Normalization({ mean: 'a' as never, variance: 1 }), TypeError, /^Normalization: mean: expected a number, nested arrays of numbers/);
  });

  it('uses Keras 3 defaults', () => {
    const n = new Normalization();
    expect(n.name).toMatch(/^normalization(_\d+)?$/);
    expect(n.getConfig()).toEqual({ name: n.name, trainable: true, dtype: 'float32', axis: -1, mean: null, variance: null, invert: false });
  });
});

describe('Normalization#apply', () => {
  it('rejects use before adapt (without mean/variance), and inputs that do not match the adapted data', async () => {
    const n = new Normalization({ name: 'norm_reject' });
    expectError(() => n.apply(nk.zeros([2, 3])), RangeError,
      'Normalization.apply: expected a layer with statistics (call adapt(data) first, or construct it with mean and variance), got an unadapted layer');
    await expect(n.applyAsync(nk.zeros([2, 3]))).rejects.toThrow(/Normalization.applyAsync: expected a layer with statistics/);
    expect(n.built).toBe(false);
    n.adapt(input([5, 3], 1));
    expectError(() => n.apply(nk.zeros([2, 4])), RangeError, 'Normalization.apply: expected input of rank 2 with kept dimensions 3 on axis -1, got shape [2,4]');
    expectError(() => n.apply(nk.zeros([2, 1, 3])), RangeError, /expected input of rank 2 with kept dimensions 3/);
    const fixed = new Normalization({ mean: [1, 2], variance: [1, 4] });
    expectError(() => fixed.apply(nk.zeros([2, 3])), RangeError, 'Normalization.apply: expected mean and variance that broadcast to the kept dimensions [3], got shape [2]');
    expectError(() => new Normalization({ axis: 2 }).adapt(nk.zeros([2, 3])), RangeError, 'Normalization.adapt: expected axis in [-2, 1] for input of rank 2, got 2');
  });

  it("reproduces Keras' documented examples", () => {
    const all = new Normalization({ axis: null });
    all.adapt(nk.tensor([1, 2, 3, 4, 5]));
    expectClose(all.apply(nk.tensor([1, 2, 3])).data, [-1.4142135, -0.70710677, 0], 1e-6, 1e-7);

    const perFeature = new Normalization({ axis: -1 });
    const adaptData = nk.tensor([[0, 7, 4], [2, 9, 6], [0, 7, 4], [2, 9, 6]]);
    perFeature.adapt(adaptData);
    expect(perFeature.apply(nk.tensor([[0, 7, 4]])).toArray()).toEqual([[-1, -1, -1]]);

    const fixed = new Normalization({ mean: 3, variance: 2 });
    expectClose(fixed.apply(nk.tensor([[1], [2], [3]])).data, [-1.4142135, -0.70710677, 0], 1e-6, 1e-7);

    const inverse = new Normalization({ axis: -1, invert: true });
    inverse.adapt(adaptData);
    expect(inverse.apply(nk.tensor([[1, 2, 3]])).toArray()).toEqual([[2, 10, 8]]);
  });

  it('normalizes with std floored at 1e-7, so constant features give 0, not NaN', () => {
    const n = new Normalization({ dtype: 'float64' });
    n.adapt(nk.tensor([[1, 5], [1, 7]], undefined, 'float64'));
    expect(values(n.adaptVariance!)).toEqual([0, 1]);
    expect(n.apply(nk.tensor([[1, 6]], undefined, 'float64')).toArray()).toEqual([[0, 0]]);
  });

  it('broadcasts fixed statistics to the kept axes from the right (Keras 3)', () => {
    const n = new Normalization({ axis: [1, 2], mean: [1, 2, 3], variance: [4, 4, 4], dtype: 'float64' });
    const x = input([2, 2, 3], 3);
    const y = n.apply(x);
    expectClose(y.data, Array.from(x.data, (v, k) => (v - [1, 2, 3][k % 3]) / 2), 1e-15, 0);
    expect(n.variables).toEqual([]);
    expectError(() => n.adapt(x), RangeError,
      'Normalization.adapt: expected a layer without fixed statistics (constructed without mean and variance), got a layer constructed with mean and variance');
  });

  it('is differentiable with respect to the input (normalize and invert)', () => {
    for (const invert of [false, true]) {
      const n = new Normalization({ axis: [0, 2], invert, dtype: 'float64' });
      n.adapt(randomTensor([3, 4, 2], 9, -3, 3));
      checkGradients((x) => n.apply(x), [randomTensor([3, 5, 2], 1)], { rtol: 1e-6, atol: 1e-9 });
    }
  });
});

describe('Normalization#adapt', () => {
  it('rejects empty or non-tensor data, and changes nothing when it throws', async () => {
    const n = new Normalization();
    expectError(() => n.adapt([]), RangeError, 'Normalization.adapt: expected data with at least one value per kept index, got no batches');
    expectError(() => n.adapt(nk.zeros([0, 3])), RangeError, 'Normalization.adapt: expected data with at least one value per kept index, got no values to reduce (first batch of shape [0,3])');
    expectError(() => n.adapt(nk.zeros([4, 0])), RangeError, 'Normalization.adapt: expected data (batch 0) with non-empty kept axes (axis -1), got shape [4,0]');
    expectError(() => n.adapt({} as never), TypeError, 'Normalization.adapt: expected data as a tensor-like, or an iterable or async iterable of batches, got an object');
    expectError(() => n.adapt('abc' as never), TypeError, /^Normalization.adapt: expected data as a tensor-like/);
    expectError(() => n.adapt([nk.ones([2, 3]), 'x' as never]), TypeError, /^Normalization.adapt: data \(batch 1\): expected a number, nested arrays of numbers/);
    expectError(() => n.adapt([nk.ones([2, 3]), nk.ones([2, 4])]), RangeError, 'Normalization.adapt: expected data (batch 1) of rank 2 with kept dimensions 3 on axis -1, got shape [2,4]');
    await expect(n.adapt((async function* () {})())).rejects.toThrow('Normalization.adapt: expected data with at least one value per kept index, got no batches');
    expect(n.built).toBe(false);

    n.adapt(input([6, 3], 1));
    const before = n.getWeights().map(values);
    expectError(() => n.adapt([input([2, 3], 2), nk.ones([2, 5])]), RangeError, /expected data \(batch 1\) of rank 2 with kept dimensions 3/);
    expectError(() => n.adapt(nk.ones([2, 2, 3])), RangeError, /expected data \(batch 0\) of rank 2 with kept dimensions 3 on axis -1, got shape \[2,2,3\]/);
    await expect(n.adapt((async function* () {
      yield input([2, 3], 3);
      throw new Error('source failed');
    })())).rejects.toThrow('source failed');
    expect(n.getWeights().map(values)).toEqual(before);
  });

  for (const [label, shape, axis] of [
    ['per feature (axis -1)', [40, 3], -1],
    ['per channel of NHWC', [12, 3, 2, 4], -1],
    ['per (H, W) position, axes [1, 2]', [10, 3, 2, 2], [1, 2]],
    ['non-adjacent kept axes [1, 3]', [10, 3, 2, 4], [1, 3]],
    ['scalar statistics (axis null)', [9, 4], null],
  ] as const) {
    it(`gives the float64 two-pass statistics of the whole data, however it is batched: ${label}`, () => {
      const x = input(shape as unknown as number[], 17, -5, 20);
      const keep = axis === null ? [] : ((Array.isArray(axis) ? axis : [axis]) as number[]);
      const ref = refMoments(x.data, shape, keep);
      const whole = new Normalization({ axis: axis as never, dtype: 'float64' });
      whole.adapt(x);
      expectClose(values(whole.adaptMean!), ref.mean, 1e-13, 1e-13);
      expectClose(values(whole.adaptVariance!), ref.variance, 1e-12, 1e-13);
      const sizes = [1, 2, shape[0] - 5, 2];
      const batched = new Normalization({ axis: axis as never, dtype: 'float64' });
      batched.adapt(split(x, sizes));
      expectClose(values(batched.adaptMean!), ref.mean, 1e-13, 1e-13);
      expectClose(values(batched.adaptVariance!), ref.variance, 1e-12, 1e-13);
      const y = batched.apply(x);
      expect(y.shape).toEqual(shape);
    });
  }

  it('accepts generators, async generators, [x, y] tuples, empty batches, and replaces earlier statistics', async () => {
    const x = input([20, 4], 5, 0, 10);
    const ref = refMoments(x.data, [20, 4], [1]);
    const parts = split(x, [7, 0, 13]);
    const fromGenerator = new Normalization({ dtype: 'float64' });
    fromGenerator.adapt((function* () {
      yield* parts;
    })());
    expectClose(values(fromGenerator.adaptMean!), ref.mean, 1e-13, 1e-13);

    const fromAsync = new Normalization({ dtype: 'float64' });
    const done = fromAsync.adapt((async function* () {
      for (const p of parts) {
        await new Promise((r) => setTimeout(r, 1));
        yield [p, 'labels'] as const;
      }
    })());
    expect(done).toBeInstanceOf(Promise);
    await done;
    expectClose(values(fromAsync.adaptMean!), ref.mean, 1e-13, 1e-13);
    expectClose(values(fromAsync.adaptVariance!), ref.variance, 1e-12, 1e-13);

    fromAsync.adapt(nk.tensor([[1, 1, 1, 1], [3, 3, 3, 3]], undefined, 'float64'));
    expect(values(fromAsync.adaptMean!)).toEqual([2, 2, 2, 2]);
    expect(values(fromAsync.adaptVariance!)).toEqual([1, 1, 1, 1]);
  });

  it('merges float32 batches far from zero exactly enough (mean 1e4, std 1: no E[x^2] - E[x]^2 cancellation)', () => {
    const x = nk.add(nk.randomNormal([4000, 2], { seed: 11 }), 1e4);
    const ref = refMoments(x.data, [4000, 2], [1]);
    const n = new Normalization();
    n.adapt(split(x, [1000, 1000, 1000, 999, 1]));
    expectClose(values(n.adaptMean!), ref.mean, 1e-7, 0);
    expectClose(values(n.adaptVariance!), ref.variance, 1e-3, 0);
  });
});

describe('Normalization#getConfig / fromConfig / weights', () => {
  it('round-trips arguments through JSON; adapted statistics travel as weights', () => {
    const fixed = new Normalization({ name: 'norm_cfg', axis: [1, 2], mean: nk.tensor([1, 2]), variance: [3, 4], invert: true, dtype: 'float64' });
    const config = fixed.getConfig();
    expect(config).toEqual({ name: 'norm_cfg', trainable: true, dtype: 'float64', axis: [1, 2], mean: [1, 2], variance: [3, 4], invert: true });
    const copy = Normalization.fromConfig(JSON.parse(JSON.stringify(config)));
    expect(copy.getConfig()).toEqual(config);
    const x = input([2, 3, 2], 1);
    expect(values(copy.apply(x))).toEqual(values(fixed.apply(x)));
    expectError(() => Normalization.fromConfig(undefined as never), TypeError, 'Normalization.fromConfig: expected a config object, got undefined');

    const adapted = new Normalization();
    adapted.adapt(input([10, 3], 2, 0, 5, 'float32'));
    expect(adapted.variables.map((v) => v.name)).toEqual([`${adapted.name}/mean:0`, `${adapted.name}/variance:0`]);
    expect(adapted.trainableVariables).toEqual([]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'normkit-norm-'));
    const file = path.join(dir, 'norm.safetensors');
    adapted.saveWeights(file);
    const loaded = nk.layers.loadLayer(file);
    expect(loaded).toBeInstanceOf(Normalization);
    const z = input([4, 3], 3, 0, 5, 'float32');
    expect(values(loaded.apply(z))).toEqual(values(adapted.apply(z)));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
