// The raw addon (lib/native.ts) against a float64 TypeScript reference:
// every export, float32 and float64, channels-last / channels-first / small
// inner layouts with tails, under every ISA this machine runs and with 1 and
// 2 threads. Results must be bit-identical across thread counts (fixed work
// split and merge order) and close to the reference for every ISA.
import { afterAll, describe, expect, it } from 'vitest';
import { benchBinding, native, type FloatArray } from '../../lib/native.js';
import { rng } from '../helpers.js';

// Both typed-array constructors, as one callable shape (a union of the two has no callable `from`).
interface Ctor {
  new (length: number): FloatArray;
  from(values: ArrayLike<number>, map?: (v: number, i: number) => number): FloatArray;
  readonly BYTES_PER_ELEMENT: number;
}
type Shape = [outer: number, channels: number, inner: number];

const initial = native.backendInfo();
// noop and streamCopy live in the bench's own addon; native.setIsa / setNumThreads set its ISA and threads too.
const bench = benchBinding();
const ISAS = initial.isaAvailable;
const THREADS = [1, 2];
const DTYPES: Array<[string, Ctor]> = [['float32', Float32Array], ['float64', Float64Array]];
// Relative tolerance against the float64 reference, per dtype.
const TOL: Record<string, number> = { float32: 2e-6, float64: 1e-11 };

afterAll(() => {
  native.setIsa(initial.isa);
  native.setNumThreads(initial.threads);
});

// ---------------------------------------------------------------------------
// Data and helpers.

function normal(n: number, seed: number, mean = 0, std = 1): Float64Array {
  const rand = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rand() + 1e-300));
    const t = 2 * Math.PI * rand();
    out[i] = mean + std * r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(t);
  }
  return out;
}

const channelOf = (j: number, [, channels, inner]: Shape) => Math.floor(j / inner) % channels;

/** First element where |got - want| > tol * scale, as a message; null when all are close. */
function firstMismatch(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number,
  scale: (i: number) => number): string | null {
  if (got.length !== want.length) return `${what}: length ${got.length} != ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol * scale(i))) return `${what}[${i}]: got ${got[i]}, want ${want[i]} (|err| ${err} > ${tol * scale(i)})`;
  }
  return null;
}

function bytesOf(a: FloatArray): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Runs fn under every ISA and thread count; returns the outputs keyed "isa/threads". */
function acrossBackends<T>(fn: () => T): Map<string, T> {
  const out = new Map<string, T>();
  try {
    for (const isa of ISAS) {
      native.setIsa(isa);
      for (const threads of THREADS) {
        native.setNumThreads(threads);
        out.set(`${isa}/${threads}`, fn());
      }
    }
  } finally {
    native.setIsa(initial.isa);
    native.setNumThreads(initial.threads);
  }
  return out;
}

/** Every ISA's result is bit-identical for 1 and 2 threads. */
function expectThreadIdentical(results: Map<string, FloatArray[]>): void {
  for (const isa of ISAS) {
    const [a, b] = THREADS.map((t) => results.get(`${isa}/${t}`)!);
    a.forEach((arr, k) => {
      expect(bytesOf(arr).equals(bytesOf(b[k])), `${isa}: output ${k} differs between 1 and 2 threads`).toBe(true);
    });
  }
}

// ---------------------------------------------------------------------------
// Float64 reference (two-pass statistics, unfolded formulas).

function refMoments(x: ArrayLike<number>, shape: Shape) {
  const [outer, channels, inner] = shape;
  const n = outer * inner;
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  for (let j = 0; j < x.length; j++) mean[channelOf(j, shape)] += x[j];
  for (let c = 0; c < channels; c++) mean[c] /= n;
  for (let j = 0; j < x.length; j++) {
    const d = x[j] - mean[channelOf(j, shape)];
    variance[channelOf(j, shape)] += d * d;
  }
  for (let c = 0; c < channels; c++) variance[c] /= n;
  return { mean, variance };
}

function refNormalize(x: ArrayLike<number>, shape: Shape, mean: ArrayLike<number>, variance: ArrayLike<number>,
  gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null, epsilon: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const c = channelOf(j, shape);
    y[j] = ((x[j] - mean[c]) / Math.sqrt(variance[c] + epsilon)) * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
  }
  return y;
}

function refBackward(dy: ArrayLike<number>, x: ArrayLike<number>, shape: Shape, gamma: ArrayLike<number> | null,
  mean: ArrayLike<number>, invStd: ArrayLike<number>, training: boolean) {
  const [outer, channels, inner] = shape;
  const n = outer * inner;
  const dbeta = new Float64Array(channels);
  const dgamma = new Float64Array(channels);
  const dgammaScale = new Float64Array(channels);
  const dbetaScale = new Float64Array(channels);
  for (let j = 0; j < x.length; j++) {
    const c = channelOf(j, shape);
    const xhat = (x[j] - mean[c]) * invStd[c];
    dbeta[c] += dy[j];
    dgamma[c] += dy[j] * xhat;
    dbetaScale[c] += Math.abs(dy[j]);
    dgammaScale[c] += Math.abs(dy[j] * xhat);
  }
  const dx = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const c = channelOf(j, shape);
    const g = (gamma ? gamma[c] : 1) * invStd[c];
    const xhat = (x[j] - mean[c]) * invStd[c];
    dx[j] = training ? g * (dy[j] - dbeta[c] / n - (xhat * dgamma[c]) / n) : g * dy[j];
  }
  return { dx, dgamma, dbeta, dgammaScale, dbetaScale };
}

// ---------------------------------------------------------------------------
// Shapes: [outer, channels, inner].

// Small: every layout family, channel counts 1, 3, 17, 67, 130 and
// per-channel counts 2, 5, 33, 1000+, all leaving vector tails.
const SMALL: Shape[] = [
  [2, 1, 1], [5, 3, 1], [33, 17, 1], [1003, 67, 1], [5, 130, 1], [40, 1000, 1], // channels-last
  [11, 3, 3], [5, 17, 7], [3, 67, 7], [40, 130, 7], [4, 67, 33], // small and middling inner
  [2, 3, 1000], [3, 5, 65], [1, 17, 100], [2, 130, 64], [2, 1, 2], // channels-first
];
// Large enough (>= 64K values, several work items) to run on the pool.
const LARGE: Shape[] = [[4000, 67, 1], [300, 130, 7], [16, 17, 1000], [1, 3, 100003]];

interface Case {
  shape: Shape;
  dtype: string;
  Arr: Ctor;
  x: FloatArray;
  dy: FloatArray;
  gamma: FloatArray;
  beta: FloatArray;
  movingMean: FloatArray;
  movingVar: FloatArray;
}

const caseCache = new Map<string, Case>();
function makeCase(shape: Shape, dtype: string, Arr: Ctor): Case {
  const key = `${shape}/${dtype}`;
  const hit = caseCache.get(key);
  if (hit) return hit;
  const [outer, channels, inner] = shape;
  const count = outer * channels * inner;
  const seed = outer * 7919 + channels * 104729 + inner * 31;
  // Channel c has mean c - 3 and std 0.5 + c % 4: distinct statistics per channel.
  const x = Arr.from(normal(count, seed), (v, j) => (channelOf(j, shape) - 3) + v * (0.5 + (channelOf(j, shape) % 4)));
  const c: Case = {
    shape, dtype, Arr, x,
    dy: Arr.from(normal(count, seed + 1)),
    gamma: Arr.from(normal(channels, seed + 2, 1, 0.3)),
    beta: Arr.from(normal(channels, seed + 3, 0, 0.5)),
    movingMean: Arr.from(normal(channels, seed + 4, 0, 2)),
    movingVar: Arr.from(normal(channels, seed + 5), (v) => 0.5 + Math.abs(v)),
  };
  caseCache.set(key, c);
  return c;
}

const label = ([o, c, i]: Shape) => `[${o},${c},${i}]`;

// ---------------------------------------------------------------------------
// Rejections first: class and message.

describe('native argument checks', () => {
  const x = new Float32Array(6);
  const m = new Float32Array(3);
  const v = new Float32Array(3);

  it('rejects arrays that are not Float32Array / Float64Array', () => {
    expect(() => native.channelStats(new Int32Array(6) as never, 2, 3, 1, m, v))
      .toThrowError(new TypeError('channelStats: expected x to be a Float32Array or Float64Array, got Int32Array(6)'));
    expect(() => native.channelStats([1, 2, 3, 4, 5, 6] as never, 2, 3, 1, m, v))
      .toThrowError(new TypeError('channelStats: expected x to be a Float32Array or Float64Array, got an Array'));
    expect(() => native.channelStats(x, 2, 3, 1, m, undefined as never))
      .toThrowError(new TypeError('channelStats: expected variance to be a Float32Array or Float64Array, got undefined'));
    expect(() => native.batchNormTrain(x, 2, 3, 1, 'gamma' as never, null, 1e-3, new Float32Array(6), m, v, new Float32Array(3)))
      .toThrowError(new TypeError('batchNormTrain: expected gamma to be a Float32Array or Float64Array or null, got "gamma"'));
    expect(() => bench.noop(new DataView(new ArrayBuffer(8)) as never, x))
      .toThrowError(new TypeError('noop: expected a to be a Float32Array or Float64Array, got a DataView'));
  });

  it('rejects mixed dtypes', () => {
    expect(() => native.channelStats(x, 2, 3, 1, new Float64Array(3), v))
      .toThrowError(new TypeError('channelStats: expected mean to be a Float32Array like x, got Float64Array'));
    expect(() => native.batchNormBackward(new Float64Array(6), x, 2, 3, 1, null, m, v, true, null, null, null))
      .toThrowError(new TypeError('batchNormBackward: expected dy to be a Float32Array like x, got Float64Array'));
    expect(() => bench.streamCopy(x, new Float64Array(6)))
      .toThrowError(new TypeError('streamCopy: expected dst to be a Float32Array like src, got Float64Array'));
  });

  it('rejects wrong lengths', () => {
    expect(() => native.channelStats(new Float32Array(5), 2, 3, 1, m, v))
      .toThrowError(new RangeError('channelStats: expected x to have length 6 (outer*channels*inner = 2*3*1), got 5'));
    expect(() => native.channelStats(x, 2, 3, 1, new Float32Array(2), v))
      .toThrowError(new RangeError('channelStats: expected mean to have length 3 (channels), got 2'));
    expect(() => native.batchNormInfer(x, 1, 2, 3, null, new Float32Array(3), m.subarray(0, 2), v.subarray(0, 2), 1e-3, new Float32Array(6)))
      .toThrowError(new RangeError('batchNormInfer: expected beta to have length 2 (channels), got 3'));
    expect(() => native.batchNormBackward(x, x, 2, 3, 1, null, m, v, true, new Float32Array(7), null, null))
      .toThrowError(new RangeError('batchNormBackward: expected dx to have length 6 (outer*channels*inner = 2*3*1), got 7'));
    expect(() => bench.streamCopy(x, new Float32Array(5)))
      .toThrowError(new RangeError('streamCopy: expected dst to have length 6 (src.length), got 5'));
    expect(() => native.sgdUpdate(new Float32Array(3), new Float32Array(2), null, 0.1, 0, false))
      .toThrowError(RangeError);
  });

  it('rejects sizes that are not positive safe integers', () => {
    expect(() => native.channelStats(x, 2.5, 3, 1, m, v))
      .toThrowError(new RangeError('channelStats: expected outer to be a positive safe integer, got 2.5'));
    expect(() => native.channelStats(x, 2, 0, 1, m, v))
      .toThrowError(new RangeError('channelStats: expected channels to be a positive safe integer, got 0'));
    expect(() => native.channelStats(x, 2, 3, -1, m, v))
      .toThrowError(new RangeError('channelStats: expected inner to be a positive safe integer, got -1'));
    expect(() => native.channelStats(x, NaN, 3, 1, m, v))
      .toThrowError(new RangeError('channelStats: expected outer to be a positive safe integer, got NaN'));
    expect(() => native.channelStats(x, 2 ** 53, 3, 1, m, v))
      .toThrowError(new RangeError('channelStats: expected outer to be a positive safe integer, got 9007199254740992'));
    expect(() => native.channelStats(x, '2' as never, 3, 1, m, v))
      .toThrowError(new TypeError('channelStats: expected outer to be a positive safe integer, got "2"'));
    expect(() => native.channelStats(x, 2 ** 40, 2 ** 40, 1, m, v))
      .toThrowError(new RangeError('channelStats: expected outer*channels*inner to fit in 64 bits, got 1099511627776*1099511627776*1'));
  });

  it('rejects epsilon <= 0, NaN, Infinity and non-numbers', () => {
    const y = new Float32Array(6);
    const is = new Float32Array(3);
    for (const [eps, shown] of [[0, '0'], [-1e-3, '-0.001'], [NaN, 'NaN'], [Infinity, 'Infinity']] as const) {
      expect(() => native.batchNormTrain(x, 2, 3, 1, null, null, eps, y, m, v, is))
        .toThrowError(new RangeError(`batchNormTrain: expected epsilon to be a finite number > 0, got ${shown}`));
      expect(() => native.batchNormInfer(x, 2, 3, 1, null, null, m, v, eps, y))
        .toThrowError(new RangeError(`batchNormInfer: expected epsilon to be a finite number > 0, got ${shown}`));
    }
    expect(() => native.batchNormTrain(x, 2, 3, 1, null, null, '1e-3' as never, y, m, v, is))
      .toThrowError(new TypeError('batchNormTrain: expected epsilon to be a finite number > 0, got "1e-3"'));
    expect(() => native.batchNormBackward(x, x, 2, 3, 1, null, m, v, 1 as never, null, null, null))
      .toThrowError(new TypeError('batchNormBackward: expected training to be a boolean, got 1'));
  });

  it('rejects outputs that alias inputs or each other (in place only where allowed)', () => {
    const buf = new Float32Array(16);
    const xs = buf.subarray(0, 6);
    const is = new Float32Array(3);
    expect(() => native.channelStats(xs, 2, 3, 1, m, m))
      .toThrowError(new RangeError('channelStats: expected mean not to share memory with variance, got overlapping arrays'));
    expect(() => native.channelStats(xs, 2, 3, 1, buf.subarray(4, 7), v))
      .toThrowError(new RangeError('channelStats: expected mean not to share memory with x, got overlapping arrays'));
    expect(() => native.batchNormTrain(xs, 2, 3, 1, null, null, 1e-3, buf.subarray(1, 7), m, v, is))
      .toThrowError(new RangeError('batchNormTrain: expected y to be x itself (in place) or not to share memory with it, got a partial overlap'));
    expect(() => native.batchNormTrain(xs, 2, 3, 1, null, null, 1e-3, xs, m, v, m))
      .toThrowError(new RangeError('batchNormTrain: expected mean not to share memory with invStd, got overlapping arrays'));
    const gamma = new Float32Array(3);
    expect(() => native.batchNormInfer(xs, 2, 3, 1, gamma, null, m, v, 1e-3, xs.subarray(0, 6).slice()))
      .not.toThrow();
    expect(() => native.batchNormBackward(xs, xs, 2, 3, 1, gamma, m, v, true, xs, null, null))
      .toThrowError(new RangeError('batchNormBackward: expected dx not to share memory with x, got overlapping arrays'));
    expect(() => bench.streamCopy(buf.subarray(0, 8), buf.subarray(4, 12)))
      .toThrowError(new RangeError('streamCopy: expected dst not to share memory with src, got overlapping arrays'));
    // Disjoint views of one buffer are fine.
    expect(() => native.channelStats(xs, 2, 3, 1, buf.subarray(6, 9), buf.subarray(9, 12))).not.toThrow();
  });

  it('rejects a detached ArrayBuffer', () => {
    const buf = new ArrayBuffer(24);
    const xd = new Float32Array(buf);
    structuredClone(buf, { transfer: [buf] });
    expect(() => native.channelStats(xd, 2, 3, 1, m, v))
      .toThrowError(new TypeError('channelStats: expected x to be backed by a live ArrayBuffer, got Float32Array over a detached ArrayBuffer'));
    const out = new ArrayBuffer(12);
    const md = new Float32Array(out);
    structuredClone(out, { transfer: [out] });
    expect(() => native.channelStats(x, 2, 3, 1, md, v))
      .toThrowError(new TypeError('channelStats: expected mean to be backed by a live ArrayBuffer, got Float32Array over a detached ArrayBuffer'));
  });

  it('...Async twins reject instead of throwing', async () => {
    let p: Promise<void> | undefined;
    expect(() => { p = native.channelStatsAsync(new Float32Array(5), 2, 3, 1, m, v); }).not.toThrow();
    await expect(p).rejects.toThrowError(new RangeError('channelStatsAsync: expected x to have length 6 (outer*channels*inner = 2*3*1), got 5'));
    await expect(native.batchNormTrainAsync(x, 2, 3, 1, null, null, 0, new Float32Array(6), m, v, new Float32Array(3)))
      .rejects.toThrowError(new RangeError('batchNormTrainAsync: expected epsilon to be a finite number > 0, got 0'));
    await expect(native.batchNormInferAsync(new Int8Array(6) as never, 2, 3, 1, null, null, m, v, 1e-3, x))
      .rejects.toThrowError(TypeError);
    await expect(native.batchNormBackwardAsync(x, x, 2, 3, 1, null, m, v, true, x, null, null))
      .rejects.toThrowError(RangeError);
  });

  it('setIsa and setNumThreads reject bad values and change nothing', () => {
    const before = native.backendInfo();
    const choices = ISAS.map((i) => `"${i}"`).join(', ');
    expect(() => native.setIsa('mmx'))
      .toThrowError(new RangeError(`setIsa: expected name to be one of ${choices} (this build and CPU), got "mmx"`));
    expect(() => native.setIsa(3 as never))
      .toThrowError(new TypeError(`setIsa: expected name to be one of ${choices} (this build and CPU), got 3`));
    expect(() => native.setNumThreads(0)).toThrowError(new RangeError('setNumThreads: expected n to be a positive safe integer, got 0'));
    expect(() => native.setNumThreads(1.5)).toThrowError(RangeError);
    expect(() => native.setNumThreads(5000)).toThrowError(new RangeError('setNumThreads: expected n to be at most 1024, got 5000'));
    expect(() => native.setNumThreads('2' as never)).toThrowError(TypeError);
    expect(native.backendInfo()).toEqual(before);
  });
});

// ---------------------------------------------------------------------------
// backendInfo / dispatch.

describe('backendInfo, setIsa, setNumThreads', () => {
  it('reports the active ISA, the available ones lowest first, threads and versions', () => {
    expect(ISAS[0]).toBe('scalar');
    expect(ISAS).toContain(initial.isa);
    const order = ['scalar', 'sse2', 'neon', 'avx2', 'avx512'];
    expect([...ISAS].sort((a, b) => order.indexOf(a) - order.indexOf(b))).toEqual(ISAS);
    expect(initial.threads).toBeGreaterThanOrEqual(1);
    expect(initial.napiVersion).toBe(8);
    expect(initial.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('switches ISA and thread count', () => {
    try {
      for (const isa of ISAS) {
        native.setIsa(isa);
        expect(native.backendInfo().isa).toBe(isa);
      }
      native.setNumThreads(3);
      expect(native.backendInfo().threads).toBe(3);
    } finally {
      native.setIsa(initial.isa);
      native.setNumThreads(initial.threads);
    }
  });
});

// ---------------------------------------------------------------------------
// Numerics.

for (const [dtype, Arr] of DTYPES) {
  const tol = TOL[dtype];

  describe(`channelStats (${dtype})`, () => {
    for (const shape of [...SMALL, ...LARGE]) {
      it(`matches the two-pass float64 reference ${label(shape)}`, () => {
        const c = makeCase(shape, dtype, Arr);
        const ref = refMoments(c.x, shape);
        const results = acrossBackends(() => {
          const mean = new Arr(shape[1]);
          const variance = new Arr(shape[1]);
          native.channelStats(c.x, ...shape, mean, variance);
          return [mean, variance];
        });
        expectThreadIdentical(results);
        for (const [key, [mean, variance]] of results) {
          expect(firstMismatch(`${key} mean`, mean, ref.mean, tol, (i) => Math.abs(ref.mean[i]) + Math.sqrt(ref.variance[i]))).toBeNull();
          expect(firstMismatch(`${key} variance`, variance, ref.variance, tol, (i) => ref.variance[i] + 1e-300)).toBeNull();
        }
      });
    }
  });

  describe(`batchNormTrain (${dtype})`, () => {
    for (const shape of [...SMALL, ...LARGE]) {
      it(`matches the reference ${label(shape)}`, () => {
        const c = makeCase(shape, dtype, Arr);
        const eps = 1e-3;
        const ref = refMoments(c.x, shape);
        const yRef = refNormalize(c.x, shape, ref.mean, ref.variance, c.gamma, c.beta, eps);
        const results = acrossBackends(() => {
          const out = [new Arr(c.x.length), new Arr(shape[1]), new Arr(shape[1]), new Arr(shape[1])];
          native.batchNormTrain(c.x, ...shape, c.gamma, c.beta, eps, out[0], out[1], out[2], out[3]);
          return out;
        });
        expectThreadIdentical(results);
        const invStdRef = ref.variance.map((v) => 1 / Math.sqrt(v + eps));
        for (const [key, [y, mean, variance, invStd]] of results) {
          expect(firstMismatch(`${key} y`, y, yRef, tol, (i) => 1 + Math.abs(yRef[i]))).toBeNull();
          expect(firstMismatch(`${key} mean`, mean, ref.mean, tol, (i) => Math.abs(ref.mean[i]) + Math.sqrt(ref.variance[i]))).toBeNull();
          expect(firstMismatch(`${key} variance`, variance, ref.variance, tol, (i) => ref.variance[i])).toBeNull();
          expect(firstMismatch(`${key} invStd`, invStd, invStdRef, tol, (i) => invStdRef[i])).toBeNull();
        }
      });
    }

    it('treats null gamma as 1 and null beta as 0, and runs in place', () => {
      const shape: Shape = [33, 17, 1];
      const c = makeCase(shape, dtype, Arr);
      const ref = refMoments(c.x, shape);
      const yRef = refNormalize(c.x, shape, ref.mean, ref.variance, null, null, 1e-5);
      const stats = () => [new Arr(17), new Arr(17), new Arr(17)] as const;
      const y = new Arr(c.x.length);
      const [m, v, is] = stats();
      native.batchNormTrain(c.x, ...shape, null, null, 1e-5, y, m, v, is);
      expect(firstMismatch('y', y, yRef, tol, (i) => 1 + Math.abs(yRef[i]))).toBeNull();
      const inPlace = Arr.from(c.x);
      const [m2, v2, is2] = stats();
      native.batchNormTrain(inPlace, ...shape, null, null, 1e-5, inPlace, m2, v2, is2);
      expect(bytesOf(inPlace).equals(bytesOf(y))).toBe(true);
    });
  });

  describe(`batchNormInfer (${dtype})`, () => {
    for (const shape of [...SMALL, ...LARGE]) {
      it(`matches the reference ${label(shape)}`, () => {
        const c = makeCase(shape, dtype, Arr);
        const eps = 1e-3;
        const yRef = refNormalize(c.x, shape, c.movingMean, c.movingVar, c.gamma, c.beta, eps);
        const results = acrossBackends(() => {
          const y = new Arr(c.x.length);
          native.batchNormInfer(c.x, ...shape, c.gamma, c.beta, c.movingMean, c.movingVar, eps, y);
          return [y];
        });
        expectThreadIdentical(results);
        for (const [key, [y]] of results) {
          expect(firstMismatch(`${key} y`, y, yRef, tol, (i) => 1 + Math.abs(yRef[i]))).toBeNull();
        }
      });
    }
  });

  describe(`batchNormBackward (${dtype})`, () => {
    for (const shape of [...SMALL, ...LARGE]) {
      for (const training of [true, false]) {
        it(`matches the reference ${label(shape)} training=${training}`, () => {
          const c = makeCase(shape, dtype, Arr);
          const mom = refMoments(c.x, shape);
          // Statistics as the forward pass hands them over: rounded to dtype.
          const mean = Arr.from(mom.mean);
          const invStd = Arr.from(mom.variance, (v) => 1 / Math.sqrt(v + 1e-3));
          const ref = refBackward(c.dy, c.x, shape, c.gamma, mean, invStd, training);
          let dxScale = 1;
          for (const v of ref.dx) dxScale = Math.max(dxScale, Math.abs(v));
          const results = acrossBackends(() => {
            const out = [new Arr(c.x.length), new Arr(shape[1]), new Arr(shape[1])];
            native.batchNormBackward(c.dy, c.x, ...shape, c.gamma, mean, invStd, training, out[0], out[1], out[2]);
            return out;
          });
          expectThreadIdentical(results);
          for (const [key, [dx, dgamma, dbeta]] of results) {
            expect(firstMismatch(`${key} dx`, dx, ref.dx, tol, () => dxScale)).toBeNull();
            expect(firstMismatch(`${key} dgamma`, dgamma, ref.dgamma, tol, (i) => 1 + ref.dgammaScale[i])).toBeNull();
            expect(firstMismatch(`${key} dbeta`, dbeta, ref.dbeta, tol, (i) => 1 + ref.dbetaScale[i])).toBeNull();
          }
        });
      }
    }

    it('computes only the requested outputs; dx may alias dy', () => {
      const shape: Shape = [5, 17, 7];
      const c = makeCase(shape, dtype, Arr);
      const mean = new Arr(17).fill(0.25);
      const invStd = new Arr(17).fill(2);
      const full = [new Arr(c.x.length), new Arr(17), new Arr(17)];
      native.batchNormBackward(c.dy, c.x, ...shape, null, mean, invStd, true, full[0], full[1], full[2]);
      const dgamma = new Arr(17);
      native.batchNormBackward(c.dy, c.x, ...shape, null, mean, invStd, true, null, dgamma, null);
      expect(bytesOf(dgamma).equals(bytesOf(full[1]))).toBe(true);
      const inPlace = Arr.from(c.dy);
      native.batchNormBackward(inPlace, c.x, ...shape, null, mean, invStd, true, inPlace, null, null);
      expect(bytesOf(inPlace).equals(bytesOf(full[0]))).toBe(true);
    });
  });

  describe(`sgdUpdate (${dtype})`, () => {
    for (const [momentum, nesterov] of [[0, false], [0.9, false], [0.9, true]] as const) {
      it(`matches Keras SGD momentum=${momentum} nesterov=${nesterov}`, () => {
        const n = 70001;
        const w0 = Arr.from(normal(n, 11));
        const g = Arr.from(normal(n, 12));
        const v0 = Arr.from(normal(n, 13, 0, 0.1));
        const lr = 0.01;
        const wRef = new Float64Array(n);
        const vRef = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          if (momentum === 0) {
            wRef[i] = w0[i] - lr * g[i];
          } else {
            vRef[i] = momentum * v0[i] - lr * g[i];
            wRef[i] = w0[i] + (nesterov ? momentum * vRef[i] - lr * g[i] : vRef[i]);
          }
        }
        const results = acrossBackends(() => {
          const w = Arr.from(w0);
          const v = Arr.from(v0);
          native.sgdUpdate(w, g, momentum === 0 ? null : v, lr, momentum, nesterov);
          return [w, v];
        });
        expectThreadIdentical(results);
        for (const [key, [w, v]] of results) {
          expect(firstMismatch(`${key} variable`, w, wRef, tol, (i) => 1 + Math.abs(wRef[i]))).toBeNull();
          if (momentum !== 0) expect(firstMismatch(`${key} velocity`, v, vRef, tol, (i) => 1 + Math.abs(vRef[i]))).toBeNull();
        }
      });
    }
  });

  describe(`streamCopy and noop (${dtype})`, () => {
    it('copies exactly under every ISA (odd lengths included)', () => {
      for (const n of [1, 7, 1001, 300007]) {
        const src = Arr.from(normal(n, n));
        const results = acrossBackends(() => {
          const dst = new Arr(n);
          bench.streamCopy(src, dst);
          return [dst];
        });
        for (const [key, [dst]] of results) expect(bytesOf(dst).equals(bytesOf(src)), key).toBe(true);
      }
    });

    it('noop unwraps and returns undefined', () => {
      expect(bench.noop(new Arr(4), new Arr(1))).toBeUndefined();
    });

    it('runs the bench addon at the ISA and thread count of the main addon', () => {
      const states = acrossBackends(() => [bench.backendInfo(), native.backendInfo()]);
      for (const [key, [b, m]] of states) expect([b.isa, b.threads], key).toEqual([m.isa, m.threads]);
    });
  });
}

// ---------------------------------------------------------------------------
// Accuracy on badly scaled data: 1e4 + N(0, 1).

describe('statistics of badly scaled data (1e4 + N(0, 1))', () => {
  for (const shape of [[16384, 17, 1], [16, 17, 1000], [2000, 5, 7]] as Shape[]) {
    it(`variance within 1e-6 of float64 under every ISA and thread count ${label(shape)}`, () => {
      const count = shape[0] * shape[1] * shape[2];
      const x = Float32Array.from(normal(count, 99, 1e4, 1));
      const ref = refMoments(x, shape);
      const results = acrossBackends(() => {
        const mean = new Float32Array(shape[1]);
        const variance = new Float32Array(shape[1]);
        native.channelStats(x, ...shape, mean, variance);
        const y = new Float32Array(count);
        const trainVar = new Float32Array(shape[1]);
        native.batchNormTrain(x, ...shape, null, null, 1e-3, y, new Float32Array(shape[1]), trainVar, new Float32Array(shape[1]));
        return [mean, variance, trainVar, y];
      });
      expectThreadIdentical(results);
      const yRef = refNormalize(x, shape, ref.mean, ref.variance, null, null, 1e-3);
      for (const [key, [mean, variance, trainVar, y]] of results) {
        expect(firstMismatch(`${key} variance`, variance, ref.variance, 1e-6, (i) => ref.variance[i])).toBeNull();
        expect(firstMismatch(`${key} train variance`, trainVar, ref.variance, 1e-6, (i) => ref.variance[i])).toBeNull();
        expect(firstMismatch(`${key} mean`, mean, ref.mean, 1e-7, (i) => ref.mean[i])).toBeNull();
        // The normalized output keeps float32 precision too (the fold runs in double).
        expect(firstMismatch(`${key} y`, y, yRef, 2e-6, (i) => 1 + Math.abs(yRef[i]))).toBeNull();
      }
    });
  }
});

// ---------------------------------------------------------------------------
// SharedArrayBuffer and async twins.

describe('SharedArrayBuffer-backed arrays and async twins', () => {
  const shape: Shape = [300, 130, 7];
  const count = shape[0] * shape[1] * shape[2];
  const c = makeCase(shape, 'float32', Float32Array);

  function shared(src: ArrayLike<number>): Float32Array {
    const a = new Float32Array(new SharedArrayBuffer(src.length * 4));
    a.set(src);
    return a;
  }

  it('gives the same bytes for SharedArrayBuffer inputs and outputs', () => {
    const plain = [new Float32Array(count), new Float32Array(130), new Float32Array(130), new Float32Array(130)];
    native.batchNormTrain(c.x, ...shape, c.gamma, c.beta, 1e-3, plain[0], plain[1], plain[2], plain[3]);
    const sab = [shared(plain[0].fill(0)), shared(new Float32Array(130)), shared(new Float32Array(130)), shared(new Float32Array(130))];
    native.batchNormTrain(shared(c.x), ...shape, shared(c.gamma), shared(c.beta), 1e-3, sab[0], sab[1], sab[2], sab[3]);
    native.batchNormTrain(c.x, ...shape, c.gamma, c.beta, 1e-3, plain[0], plain[1], plain[2], plain[3]);
    sab.forEach((a, k) => expect(bytesOf(a).equals(bytesOf(plain[k]))).toBe(true));
  });

  it('async twins resolve to the sync results under every ISA', async () => {
    for (const isa of ISAS) {
      native.setIsa(isa);
      try {
        const mean = c.movingMean;
        const invStd = c.movingVar;
        const sync = {
          stats: [new Float32Array(130), new Float32Array(130)],
          train: [new Float32Array(count), new Float32Array(130), new Float32Array(130), new Float32Array(130)],
          infer: [new Float32Array(count)],
          back: [new Float32Array(count), new Float32Array(130), new Float32Array(130)],
        };
        native.channelStats(c.x, ...shape, sync.stats[0], sync.stats[1]);
        native.batchNormTrain(c.x, ...shape, c.gamma, c.beta, 1e-3, sync.train[0], sync.train[1], sync.train[2], sync.train[3]);
        native.batchNormInfer(c.x, ...shape, c.gamma, c.beta, mean, c.movingVar, 1e-3, sync.infer[0]);
        native.batchNormBackward(c.dy, c.x, ...shape, c.gamma, mean, invStd, true, sync.back[0], sync.back[1], sync.back[2]);
        const asy = {
          stats: sync.stats.map((a) => new Float32Array(a.length)),
          train: sync.train.map((a) => new Float32Array(a.length)),
          infer: sync.infer.map((a) => new Float32Array(a.length)),
          back: sync.back.map((a) => new Float32Array(a.length)),
        };
        // Several in flight at once, on the libuv pool.
        await Promise.all([
          native.channelStatsAsync(c.x, ...shape, asy.stats[0], asy.stats[1]),
          native.batchNormTrainAsync(c.x, ...shape, c.gamma, c.beta, 1e-3, asy.train[0], asy.train[1], asy.train[2], asy.train[3]),
          native.batchNormInferAsync(c.x, ...shape, c.gamma, c.beta, mean, c.movingVar, 1e-3, asy.infer[0]),
          native.batchNormBackwardAsync(c.dy, c.x, ...shape, c.gamma, mean, invStd, true, asy.back[0], asy.back[1], asy.back[2]),
        ]);
        for (const k of ['stats', 'train', 'infer', 'back'] as const) {
          sync[k].forEach((a, i) => expect(bytesOf(asy[k][i]).equals(bytesOf(a)), `${isa} ${k}[${i}]`).toBe(true));
        }
      } finally {
        native.setIsa(initial.isa);
      }
    }
  });

  it('keeps the arrays of a pending call alive', async () => {
    let pending: Promise<void>;
    {
      const x = Float32Array.from(c.x);
      const y = new Float32Array(count);
      pending = native.batchNormInferAsync(x, ...shape, null, null, c.movingMean, c.movingVar, 1e-3, y);
    }
    (globalThis as { gc?: () => void }).gc?.();
    await expect(pending).resolves.toBeUndefined();
  });
});
