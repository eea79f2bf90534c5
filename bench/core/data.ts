/**
 * Deterministic test data. Every implementation of a case reads the same
 * arrays, so the correctness gate compares like with like, and two runs of
 * the bench time the same numbers.
 */
import type { BenchShape, CaseData } from './types.js';

/** splitmix64-seeded xoshiro128** — fast, and good enough for N(0,1) bench data. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  constructor(seed: number) {
    let z = seed >>> 0;
    const next = (): number => {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
      t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result / 4294967296;
  }

  /** Standard normal by Box-Muller (the second value is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** `offset + N(0,1)` rounded to float32. */
export function normalArray(n: number, rng: Rng, offset = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + rng.normal();
  return a;
}

/** Inputs for every op on `shape`; seeded by the shape so a case is reproducible alone. */
export function makeCase(shape: BenchShape, epsilon = 1e-3): CaseData {
  const rng = new Rng(shape.size * 31 + shape.channels);
  const c = shape.channels;
  const x = normalArray(shape.size, rng);
  const dy = normalArray(shape.size, rng);
  const gamma = new Float32Array(c);
  const beta = new Float32Array(c);
  const movingMean = new Float32Array(c);
  const movingVariance = new Float32Array(c);
  // Non-trivial per-channel parameters: a kernel that mixes up channels
  // (the tfjs axis=1 bug) must produce visibly wrong numbers.
  for (let i = 0; i < c; i++) {
    gamma[i] = 0.5 + rng.uniform();
    beta[i] = rng.uniform() - 0.5;
    movingMean[i] = 0.2 * rng.normal();
    movingVariance[i] = 0.5 + rng.uniform();
  }
  return { shape, x, dy, gamma, beta, movingMean, movingVariance, epsilon };
}
