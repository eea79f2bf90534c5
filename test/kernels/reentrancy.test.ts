import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { uniform } from '../helpers.js';

const f32 = (n: number, seed: number, lo = -1, hi = 1) => Float32Array.from(uniform(n, seed, lo, hi));

// A getter on an argument of a kernel API call runs user code in the middle
// of that call's checks. Here that code runs another kernel API call with
// another layout, other parameters and another epsilon; the outer call must
// still run with its own (its result equals the plain call's, bit for bit).
describe('kernels (reentrant calls from option getters)', () => {
  const layout = { outer: 4, channels: 3, inner: 5 };
  const n = 4 * 3 * 5;
  const x = f32(n, 1, -2, 3);
  const dy = f32(n, 2);
  const gamma = f32(3, 3, 0.5, 2);
  const beta = f32(3, 4);
  const epsilon = 1e-2;

  // The inner call: 7 channels, channels first, its own gamma/beta and epsilon.
  const other = { x: f32(2 * 7 * 9, 5), layout: { shape: [2, 7, 9], axis: 1 }, gamma: f32(7, 6), beta: f32(7, 7), epsilon: 0.5 };
  let innerCalls = 0;
  const innerCall = () => {
    innerCalls++;
    const f = nk.kernels.batchNormTrain(other.x, other.layout, { gamma: other.gamma, beta: other.beta, epsilon: other.epsilon });
    nk.kernels.batchNormInfer(other.x, other.layout, { mean: f.mean, variance: f.variance, gamma: other.gamma, epsilon: other.epsilon });
    nk.kernels.batchNormBackward(other.x, other.x, other.layout, { mean: f.mean, invStd: f.invStd, gamma: other.gamma, training: false });
    nk.kernels.channelStats(other.x, { outer: 14, channels: 9, inner: 1 });
    // Same element count and channel count as the outer call, other view and
    // epsilon: the binding's own length checks cannot tell the calls apart.
    nk.kernels.batchNormTrain(same60, { outer: 20, channels: 3, inner: 1 }, { gamma: other.gamma.subarray(0, 3), epsilon: other.epsilon });
  };
  const same60 = f32(60, 10);
  /** `base` with its `key` turned into a getter that makes the inner calls first. */
  const withGetter = <T extends object>(base: T, key: keyof T): T => {
    const o = { ...base };
    const value = o[key];
    Object.defineProperty(o, key, { enumerable: true, get: () => (innerCall(), value) });
    return o;
  };
  const bits = (a: Float32Array | Float64Array) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const same = (got: Record<string, Float32Array | Float64Array>, want: Record<string, Float32Array | Float64Array>) => {
    for (const k of Object.keys(want)) expect(bits(got[k]), k).toEqual(bits(want[k]));
  };

  it('batchNormTrain (epsilon, gamma and layout getters; one-shot, async and prepared)', async () => {
    const opts = { gamma, beta, epsilon };
    const plain = nk.kernels.batchNormTrain(x, layout, opts);
    for (const key of ['epsilon', 'gamma', 'beta'] as const) {
      innerCalls = 0;
      same({ ...nk.kernels.batchNormTrain(x, layout, withGetter(opts, key)) }, { ...plain });
      same({ ...(await nk.kernels.batchNormTrainAsync(x, layout, withGetter(opts, key))) }, { ...plain });
      same({ ...nk.kernels.prepareBatchNormTrain(x, layout, withGetter(opts, key)).run() }, { ...plain });
      expect(innerCalls).toBe(3);
    }
    same({ ...nk.kernels.batchNormTrain(x, withGetter(layout, 'inner'), opts) }, { ...plain });
  });

  it('batchNormInfer (epsilon and variance getters)', async () => {
    const opts = { mean: f32(3, 8), variance: f32(3, 9, 0.1, 2), gamma, beta, epsilon };
    const plain = nk.kernels.batchNormInfer(x, layout, opts);
    for (const key of ['epsilon', 'variance', 'mean', 'gamma'] as const) {
      same({ y: nk.kernels.batchNormInfer(x, layout, withGetter(opts, key)) }, { y: plain });
      same({ y: await nk.kernels.batchNormInferAsync(x, layout, withGetter(opts, key)) }, { y: plain });
      same({ y: nk.kernels.prepareBatchNormInfer(x, layout, withGetter(opts, key)).run() }, { y: plain });
    }
  });

  it('batchNormBackward (invStd, training and gamma getters)', async () => {
    const f = nk.kernels.batchNormTrain(x, layout, { gamma, beta, epsilon });
    const opts = { mean: f.mean, invStd: f.invStd, gamma, training: true };
    const plain = nk.kernels.batchNormBackward(dy, x, layout, opts);
    for (const key of ['invStd', 'training', 'gamma'] as const) {
      same({ ...nk.kernels.batchNormBackward(dy, x, layout, withGetter(opts, key)) }, { ...plain });
      same({ ...(await nk.kernels.batchNormBackwardAsync(dy, x, layout, withGetter(opts, key))) }, { ...plain });
      same({ ...nk.kernels.prepareBatchNormBackward(dy, x, layout, withGetter(opts, key)).run() }, { ...plain });
    }
  });

  it('channelStats (out and layout getters)', () => {
    const plain = nk.kernels.channelStats(x, layout);
    const out = { mean: new Float32Array(3), variance: new Float32Array(3) };
    same({ ...nk.kernels.channelStats(x, layout, withGetter({ out }, 'out')) }, { ...plain });
    same({ ...nk.kernels.channelStats(x, withGetter(layout, 'channels')) }, { ...plain });
    same({ ...nk.kernels.prepareChannelStats(x, withGetter(layout, 'outer')).run() }, { ...plain });
  });
});
