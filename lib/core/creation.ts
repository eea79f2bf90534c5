/**
 * Tensor factories: constant fills and seeded random tensors.
 */
import { allocate, allocateUninit, type DType } from './dtype.js';
import { rangeError, typeError } from './errors.js';
import { generatorFor } from './random.js';
import { dtype as checkDtype, finite, options as checkOptions } from './validate.js';
import { shapeSize, Tensor, toTensor, type TensorLike } from './tensor.js';

/** `options` as given, or `{}` when omitted. */
function optionsOrEmpty(api: string, value: unknown): Record<string, unknown> {
  return value === undefined ? {} : checkOptions(api, value);
}

/** A finite number option, or `fallback` when it is absent. */
function finiteOption(api: string, param: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : finite(api, param, value);
}

/**
 * A tensor of `shape` with every element equal to `value`.
 *
 * @param shape dimensions (non-negative integers; `[]` for a scalar)
 * @param value the fill value (NaN and ±Infinity are allowed, as in `tf.fill`)
 * @param dtype 'float32' (default) or 'float64'
 * @throws {TypeError}  when `value` is not a number or `dtype` is unknown
 * @throws {RangeError} when `shape` is not an array of non-negative integers
 * @example
 * nk.fill([2, 3], 0.5); // 2x3 float32 tensor of 0.5
 */
export function fill(shape: readonly number[], value: number, dtype?: DType): Tensor {
  const size = shapeSize(shape, 'fill');
  if (typeof value !== 'number') throw typeError('fill', 'value as a number', value);
  const data = allocate(checkDtype('fill', 'dtype', dtype, 'float32'), size);
  if (value !== 0) data.fill(value);
  return new Tensor(data, shape);
}

/**
 * A tensor of zeros.
 *
 * @param shape dimensions (non-negative integers)
 * @param dtype 'float32' (default) or 'float64'
 * @throws {TypeError}  when `dtype` is unknown
 * @throws {RangeError} when `shape` is not an array of non-negative integers
 * @example
 * nk.zeros([3]); // tf.Tensor([0. 0. 0.], shape=(3,), dtype=float32)
 */
export function zeros(shape: readonly number[], dtype?: DType): Tensor {
  const size = shapeSize(shape, 'zeros');
  return new Tensor(allocate(checkDtype('zeros', 'dtype', dtype, 'float32'), size), shape);
}

/**
 * A tensor of ones.
 *
 * @param shape dimensions (non-negative integers)
 * @param dtype 'float32' (default) or 'float64'
 * @throws {TypeError}  when `dtype` is unknown
 * @throws {RangeError} when `shape` is not an array of non-negative integers
 * @example
 * nk.ones([2, 2], 'float64');
 */
export function ones(shape: readonly number[], dtype?: DType): Tensor {
  const size = shapeSize(shape, 'ones');
  return new Tensor(allocate(checkDtype('ones', 'dtype', dtype, 'float32'), size).fill(1), shape);
}

/**
 * Zeros with the shape of `x` and its dtype (or `dtype` when given).
 *
 * @param x a tensor, variable, or anything {@link tensor} accepts
 * @param dtype overrides the dtype of `x`
 * @throws {TypeError} when `x` is not tensor-like or `dtype` is unknown
 * @example
 * nk.zerosLike(nk.tensor([[1, 2]])); // shape [1, 2], zeros
 */
export function zerosLike(x: TensorLike, dtype?: DType): Tensor {
  const t = toTensor(x, 'zerosLike', 'x');
  return new Tensor(allocate(checkDtype('zerosLike', 'dtype', dtype, t.dtype), t.size), t.shape);
}

/**
 * Ones with the shape of `x` and its dtype (or `dtype` when given).
 *
 * @param x a tensor, variable, or anything {@link tensor} accepts
 * @param dtype overrides the dtype of `x`
 * @throws {TypeError} when `x` is not tensor-like or `dtype` is unknown
 * @example
 * nk.onesLike(nk.zeros([3], 'float64')); // float64 ones
 */
export function onesLike(x: TensorLike, dtype?: DType): Tensor {
  const t = toTensor(x, 'onesLike', 'x');
  return new Tensor(allocate(checkDtype('onesLike', 'dtype', dtype, t.dtype), t.size).fill(1), t.shape);
}

/** Options of {@link randomNormal}. */
export interface RandomNormalOptions {
  /** Mean of the distribution (default 0). */
  mean?: number;
  /** Standard deviation, >= 0 (default 1). */
  stddev?: number;
  /** Safe integer; the same seed always gives the same values. Without it the global generator is used. */
  seed?: number;
  /** 'float32' (default) or 'float64'. */
  dtype?: DType;
}

/**
 * A tensor of normally distributed values (xoshiro256** + Box-Muller, see
 * `random.ts`), as `tf.random.normal`.
 *
 * @param shape dimensions (non-negative integers)
 * @param options mean (0), stddev (1), seed, dtype ('float32')
 * @throws {TypeError}  when an option has the wrong type or dtype is unknown
 * @throws {RangeError} when `shape` is invalid, mean/stddev is not finite, stddev < 0, or seed is not a safe integer
 * @example
 * const x = nk.randomNormal([2, 4, 4, 3], { mean: 1, stddev: 0.5, seed: 42 });
 */
export function randomNormal(shape: readonly number[], options: RandomNormalOptions = {}): Tensor {
  const api = 'randomNormal';
  const size = shapeSize(shape, api);
  const opts = optionsOrEmpty(api, options);
  const mean = finiteOption(api, 'mean', opts.mean, 0);
  const stddev = finiteOption(api, 'stddev', opts.stddev, 1);
  if (stddev < 0) throw rangeError(api, 'stddev >= 0', stddev);
  const dtype = checkDtype(api, 'dtype', opts.dtype, 'float32');
  const rng = generatorFor(opts.seed as number | undefined, api);
  const data = allocateUninit(dtype, size);
  rng.fillNormal(data, mean, stddev);
  return new Tensor(data, shape);
}

/** Options of {@link randomUniform}. */
export interface RandomUniformOptions {
  /** Lower bound, included (default 0). */
  minval?: number;
  /** Upper bound, excluded (default 1); must be greater than minval. */
  maxval?: number;
  /** Safe integer; the same seed always gives the same values. */
  seed?: number;
  /** 'float32' (default) or 'float64'. */
  dtype?: DType;
}

/**
 * A tensor of values uniform in [minval, maxval), as `tf.random.uniform`.
 *
 * @param shape dimensions (non-negative integers)
 * @param options minval (0), maxval (1), seed, dtype ('float32')
 * @throws {TypeError}  when an option has the wrong type or dtype is unknown
 * @throws {RangeError} when `shape` is invalid, a bound is not finite, minval >= maxval, or seed is not a safe integer
 * @example
 * nk.randomUniform([3], { minval: -1, maxval: 1, seed: 7 });
 */
export function randomUniform(shape: readonly number[], options: RandomUniformOptions = {}): Tensor {
  const api = 'randomUniform';
  const size = shapeSize(shape, api);
  const opts = optionsOrEmpty(api, options);
  const minval = finiteOption(api, 'minval', opts.minval, 0);
  const maxval = finiteOption(api, 'maxval', opts.maxval, 1);
  if (!(minval < maxval)) throw rangeError(api, `maxval greater than minval (${minval})`, maxval);
  if (!Number.isFinite(maxval - minval)) throw rangeError(api, 'maxval - minval to be finite', maxval - minval);
  const dtype = checkDtype(api, 'dtype', opts.dtype, 'float32');
  if (dtype === 'float32' && !(Math.fround(minval) < Math.fround(maxval))) {
    throw rangeError(api, `bounds that stay distinct in float32`, `minval ${minval} and maxval ${maxval}`, true);
  }
  const rng = generatorFor(opts.seed as number | undefined, api);
  const data = allocateUninit(dtype, size);
  rng.fillUniform(data, minval, maxval);
  return new Tensor(data, shape);
}
