/** Shared float64 references and utilities for the tests. */
import { expect } from 'vitest';
import * as nk from '../lib/index.js';

/** Deterministic pseudo-random numbers (mulberry32) so tests never flake. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` values uniform in [lo, hi). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** `n` float32 values uniform in [lo, hi) (float64 draws, rounded). */
export function uniform32(n: number, seed: number, lo: number, hi: number): Float32Array {
  return Float32Array.from(uniform(n, seed, lo, hi));
}

/** A tensor of `shape` with values uniform in [lo, hi) (default [-1, 2), float64). */
export function uniformTensor(shape: number[], seed: number, lo = -1, hi = 2, dtype: nk.DType = 'float64'): nk.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = uniform(n, seed, lo, hi);
  return nk.tensor(dtype === 'float64' ? v : Float32Array.from(v), shape, dtype);
}

/** The values of a tensor or a variable, as a plain array. */
export const values = (v: nk.Variable | nk.Tensor): number[] => Array.from(v instanceof nk.Tensor ? v.data : v.read().data);

/** A seeded RandomUniform initializer over [lo, hi). */
export const randomInit = (seed: number, lo: number, hi: number) => new nk.initializers.RandomUniform({ minval: lo, maxval: hi, seed });

/** Float64 per-channel mean and biased variance over the [outer, C, inner] view (two-pass). */
export function refStats(x: ArrayLike<number>, outer: number, channels: number, inner: number): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  const n = outer * inner;
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++)
      for (let i = 0; i < inner; i++) mean[c] += x[(o * channels + c) * inner + i];
  for (let c = 0; c < channels; c++) mean[c] /= n;
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++)
      for (let i = 0; i < inner; i++) {
        const d = x[(o * channels + c) * inner + i] - mean[c];
        variance[c] += d * d;
      }
  for (let c = 0; c < channels; c++) variance[c] /= n;
  return { mean, variance };
}

/** Float64 batch-norm output with given statistics. */
export function refNormalize(
  x: ArrayLike<number>,
  outer: number,
  channels: number,
  inner: number,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  epsilon: number,
  gamma?: ArrayLike<number> | null,
  beta?: ArrayLike<number> | null,
): Float64Array {
  const y = new Float64Array(outer * channels * inner);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++) {
      const s = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + epsilon);
      for (let i = 0; i < inner; i++) {
        const k = (o * channels + c) * inner + i;
        y[k] = (x[k] - mean[c]) * s + (beta ? beta[c] : 0);
      }
    }
  return y;
}

/** Asserts |a - b| <= atol + rtol * |b| elementwise, reporting the worst index. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= worstExcess)) {
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    expect.fail(`index ${worst}: got ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Asserts that `fn` throws an instance of `cls` whose message matches `message`. */
export function expectError(fn: () => unknown, cls: new (...args: never[]) => Error, message: string | RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(cls);
  if (typeof message === 'string') expect((caught as Error).message).toBe(message);
  else expect((caught as Error).message).toMatch(message);
}
