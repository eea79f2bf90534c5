/**
 * Pseudo-random numbers for normkit: xoshiro256** (Blackman & Vigna), a
 * 64-bit generator with 256 bits of state, period 2^256 - 1 and no known
 * statistical weakness in its upper bits, seeded through SplitMix64 as its
 * authors recommend.
 *
 * JavaScript has no native 64-bit integers outside BigInt, and BigInt is far
 * too slow for a per-element loop, so every 64-bit word is held as two
 * unsigned 32-bit halves and the few operations the generator needs (xor,
 * shifts, rotations, multiplication by 5 and 9, SplitMix's full 64-bit
 * multiplications) are spelled out on those halves.
 */
import { randomFillSync } from 'node:crypto';
import { rangeError } from './errors.js';
import { integer } from './validate.js';

const TWO_32 = 4294967296;
const TWO_NEG_53 = 1 / 9007199254740992;

/** Low 64 bits of a 64x64-bit product; each operand and the result as [hi, lo] halves. */
function mul64(aHi: number, aLo: number, bHi: number, bLo: number): [number, number] {
  // aLo*bLo needs all 64 bits: split it into 16-bit limbs so every partial product is exact.
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  const p00 = a0 * b0;
  const mid = a1 * b0 + a0 * b1 + (p00 >>> 16);
  const lo = ((mid & 0xffff) << 16) | (p00 & 0xffff);
  const carry = Math.floor(mid / 65536) + a1 * b1;
  // The cross terms only matter modulo 2^32 once shifted into the high half.
  const hi = (carry + Math.imul(aHi, bLo) + Math.imul(aLo, bHi)) >>> 0;
  return [hi, lo >>> 0];
}

/** One SplitMix64 step on a [hi, lo] state: advances it and returns the mixed output. */
function splitMix64(state: Uint32Array): [number, number] {
  // state += 0x9E3779B97F4A7C15
  const lo = state[1] + 0x7f4a7c15;
  state[1] = lo >>> 0;
  state[0] = (state[0] + 0x9e3779b9 + (lo >= TWO_32 ? 1 : 0)) >>> 0;
  let hi = state[0];
  let low = state[1];
  // z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9
  low = (low ^ ((low >>> 30) | (hi << 2))) >>> 0;
  hi = (hi ^ (hi >>> 30)) >>> 0;
  [hi, low] = mul64(hi, low, 0xbf58476d, 0x1ce4e5b9);
  // z = (z ^ (z >>> 27)) * 0x94D049BB133111EB
  low = (low ^ ((low >>> 27) | (hi << 5))) >>> 0;
  hi = (hi ^ (hi >>> 27)) >>> 0;
  [hi, low] = mul64(hi, low, 0x94d049bb, 0x133111eb);
  // z ^ (z >>> 31)
  low = (low ^ ((low >>> 31) | (hi << 1))) >>> 0;
  hi = (hi ^ (hi >>> 31)) >>> 0;
  return [hi, low];
}

/**
 * A xoshiro256** stream. Two generators built from the same seed produce the
 * same sequence on every platform.
 *
 * @example
 * const rng = new RandomGenerator(42);
 * rng.nextDouble(); // in [0, 1)
 * rng.nextNormal(); // standard normal
 */
export class RandomGenerator {
  /** Four 64-bit words s0..s3 as hi/lo pairs: [s0hi, s0lo, s1hi, s1lo, ...]. */
  private readonly s = new Uint32Array(8);
  /** Second Box-Muller value kept for the next call. */
  private spareNormal: number | null = null;
  /** High and low halves of the latest output (fields, not a returned pair, so the hot loop allocates nothing). */
  private outHi = 0;
  private outLo = 0;

  /**
   * @param seed a safe integer (any sign), or 8 random 32-bit words used as a 256-bit seed
   * @throws {TypeError}  when `seed` is neither an integer nor a Uint32Array
   * @throws {RangeError} when `seed` is not a safe integer, or the words are all zero or not 8
   */
  constructor(seed: number | Uint32Array) {
    if (seed instanceof Uint32Array) {
      if (seed.length !== 8) throw rangeError('RandomGenerator', 'a Uint32Array seed of 8 words', `${seed.length} words`, true);
      if (seed.every((w) => w === 0)) throw rangeError('RandomGenerator', 'a seed with a nonzero word', 'all zeros', true);
      this.s.set(seed);
      return;
    }
    const value = integer('RandomGenerator', 'seed', seed);
    // Two's complement split of the integer into 64 bits; SplitMix then spreads it over 256.
    const state = new Uint32Array([Math.floor(value / TWO_32) >>> 0, value >>> 0]);
    for (let i = 0; i < 4; i++) {
      const [hi, lo] = splitMix64(state);
      this.s[2 * i] = hi;
      this.s[2 * i + 1] = lo;
    }
  }

  /** Advances the state and stores the next 64-bit output in outHi/outLo. */
  private next64(): void {
    const s = this.s;
    const s1hi = s[2];
    const s1lo = s[3];
    // result = rotl(s1 * 5, 7) * 9
    let xHi = ((s1hi << 2) | (s1lo >>> 30)) >>> 0;
    let xLo = (s1lo << 2) >>> 0;
    let lo = xLo + s1lo;
    xHi = (xHi + s1hi + (lo >= TWO_32 ? 1 : 0)) >>> 0;
    xLo = lo >>> 0;
    const rHi = ((xHi << 7) | (xLo >>> 25)) >>> 0;
    const rLo = ((xLo << 7) | (xHi >>> 25)) >>> 0;
    const nHi = ((rHi << 3) | (rLo >>> 29)) >>> 0;
    const nLo = (rLo << 3) >>> 0;
    lo = nLo + rLo;
    this.outHi = (nHi + rHi + (lo >= TWO_32 ? 1 : 0)) >>> 0;
    this.outLo = lo >>> 0;
    // t = s1 << 17
    const tHi = ((s1hi << 17) | (s1lo >>> 15)) >>> 0;
    const tLo = (s1lo << 17) >>> 0;
    // s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 45)
    s[4] ^= s[0];
    s[5] ^= s[1];
    s[6] ^= s[2];
    s[7] ^= s[3];
    s[2] ^= s[4];
    s[3] ^= s[5];
    s[0] ^= s[6];
    s[1] ^= s[7];
    s[4] ^= tHi;
    s[5] ^= tLo;
    // rotl by 45 = swap halves (32) then rotl by 13
    const h = s[7];
    const l = s[6];
    s[6] = ((h << 13) | (l >>> 19)) >>> 0;
    s[7] = ((l << 13) | (h >>> 19)) >>> 0;
  }

  /** Next unsigned 32-bit integer (the high half of a 64-bit output, its strongest bits). */
  nextUint32(): number {
    this.next64();
    return this.outHi;
  }

  /** Next double uniform in [0, 1), with all 53 bits of precision. */
  nextDouble(): number {
    this.next64();
    return (this.outHi * 2097152 + (this.outLo >>> 11)) * TWO_NEG_53;
  }

  /**
   * Next standard normal value (Box-Muller: two uniforms give two
   * independent normals; the second is kept for the next call).
   */
  nextNormal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    // 1 - u lies in (0, 1], so the logarithm is finite.
    const u1 = 1 - this.nextDouble();
    const u2 = this.nextDouble();
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /**
   * Fills `out` with normal values of the given mean and standard deviation.
   * Values are computed in float64 and rounded once on store.
   * @param out buffer to fill
   * @param mean mean of the distribution (finite; checked by the caller)
   * @param stddev standard deviation (finite, >= 0; checked by the caller)
   * @example
   * new RandomGenerator(1).fillNormal(new Float32Array(4), 0, 1);
   */
  fillNormal(out: Float32Array | Float64Array, mean: number, stddev: number): void {
    for (let i = 0; i < out.length; i++) out[i] = mean + stddev * this.nextNormal();
  }

  /**
   * Fills `out` with values uniform in [minval, maxval). A draw that the
   * store rounds up to `maxval` (possible in float32) is drawn again, so the
   * upper bound stays excluded. Callers ensure minval < maxval in the output
   * dtype, so every redraw loop ends.
   * @param out buffer to fill
   * @param minval lower bound, included
   * @param maxval upper bound, excluded
   * @example
   * new RandomGenerator(1).fillUniform(new Float64Array(4), -1, 1);
   */
  fillUniform(out: Float32Array | Float64Array, minval: number, maxval: number): void {
    const span = maxval - minval;
    // The bound as the output dtype stores it: a draw equal to it is excluded.
    const bound = new (out.constructor as Float32ArrayConstructor | Float64ArrayConstructor)([maxval])[0];
    for (let i = 0; i < out.length; i++) {
      do out[i] = minval + span * this.nextDouble();
      while (out[i] >= bound && span > 0);
    }
  }
}

let globalGenerator: RandomGenerator | null = null;

/**
 * The process-wide generator used when an op gets no seed: seeded from the
 * operating system's entropy on first use, or by {@link setGlobalSeed}.
 * @returns the shared generator
 * @example
 * getGlobalGenerator().nextDouble();
 */
export function getGlobalGenerator(): RandomGenerator {
  if (globalGenerator === null) {
    const words = new Uint32Array(8);
    do randomFillSync(words);
    while (words.every((w) => w === 0));
    globalGenerator = new RandomGenerator(words);
  }
  return globalGenerator;
}

/**
 * Reseeds the global generator, making unseeded random ops reproducible
 * from here on (as `tf.random.set_seed`).
 *
 * @param seed a safe integer
 * @throws {TypeError}  when `seed` is not a number
 * @throws {RangeError} when `seed` is not a safe integer
 * @example
 * nk.setGlobalSeed(1);
 * const a = nk.randomNormal([3]);
 * nk.setGlobalSeed(1);
 * const b = nk.randomNormal([3]); // same values as a
 */
export function setGlobalSeed(seed: number): void {
  globalGenerator = new RandomGenerator(integer('setGlobalSeed', 'seed', seed));
}

/**
 * The generator for one op: a fresh stream for an explicit seed (same seed,
 * same values), else the global one.
 * @param seed a safe integer, or undefined for the global generator
 * @param api calling op, for messages
 * @returns the generator to draw from
 * @throws {TypeError}  when `seed` is not a number
 * @throws {RangeError} when `seed` is not a safe integer
 * @example
 * generatorFor(7, 'randomUniform').nextDouble(); // same value every time
 */
export function generatorFor(seed: number | undefined, api: string): RandomGenerator {
  return seed === undefined ? getGlobalGenerator() : new RandomGenerator(integer(api, 'seed', seed));
}
