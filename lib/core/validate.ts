/**
 * The argument checks of the TypeScript API, in one place and with one
 * argument order, as sharp's `lib/is.mjs`: `(api, param, value, ...)`, where
 * `api` names the public function (`'BatchNormalization'`,
 * `'kernels.batchNormTrain'`) and `param` the argument as the user wrote it
 * (`'epsilon'`, `'layout.axis'`). Each check returns the value, narrowed, or
 * throws the house error (`<api>: expected <what>, got <actual>`, built by
 * core/errors.ts): TypeError for a wrong type, RangeError for a bad value.
 *
 * Checks that only one API has (renorm clipping, a learning rate that may be
 * a schedule) stay beside their user, with the same argument order.
 */
import { dtypeOf, isDType, type DType } from './dtype.js';
import { rangeError, typeError } from './errors.js';

/** Bounds of {@link finite}: `min` / `max` inclusive unless `minOpen` / `maxOpen`. */
export interface Range {
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
}

/**
 * A finite number, optionally within bounds.
 * The RangeError says `<param> as a finite number` (no bounds),
 * `<param> finite and >= <min>` (a lower bound) or `<param> in [<min>, <max>]`.
 * @param api public function, for the message
 * @param param argument name, for the message
 * @param value the value to check
 * @param range optional bounds
 * @returns `value`
 * @throws {TypeError}  when `value` is not a number
 * @throws {RangeError} when it is NaN, infinite or out of bounds
 * @example
 * finite('SGD', 'momentum', 0.9, { min: 0, max: 1 }); // 0.9
 */
export function finite(api: string, param: string, value: unknown, range?: Range): number {
  if (typeof value !== 'number') throw typeError(api, `${param} as a number`, value);
  if (range === undefined) {
    if (!Number.isFinite(value)) throw rangeError(api, `${param} as a finite number`, value);
    return value;
  }
  const { min = -Infinity, max = Infinity, minOpen = false, maxOpen = false } = range;
  const ok = Number.isFinite(value) && (minOpen ? value > min : value >= min) && (maxOpen ? value < max : value <= max);
  if (!ok) {
    const expected =
      max === Infinity
        ? `${param} finite and ${minOpen ? '>' : '>='} ${min}`
        : `${param} in ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}`;
    throw rangeError(api, expected, value);
  }
  return value;
}

/** {@link finite} with the bounds most options share: finite and >= 0. */
export function nonNegative(api: string, param: string, value: unknown): number {
  return finite(api, param, value, { min: 0 });
}

/**
 * {@link finite} and > 0: a step count, a clip norm, or the epsilon of a
 * normalization (added to the variance under the square root; 0 would divide
 * by zero on a constant channel).
 * @throws {TypeError}  when `value` is not a number
 * @throws {RangeError} when it is not finite and > 0
 * @example
 * positive('BatchNormalization', 'epsilon', 1e-3); // 1e-3
 */
export function positive(api: string, param: string, value: unknown): number {
  return finite(api, param, value, POSITIVE);
}

const POSITIVE: Readonly<Range> = Object.freeze({ min: 0, minOpen: true });

/**
 * Any safe integer (a seed, say).
 * @throws {TypeError}  when `value` is not a number
 * @throws {RangeError} when it is not a safe integer
 * @example
 * integer('randomNormal', 'seed', 42); // 42
 */
export function integer(api: string, param: string, value: unknown): number {
  if (typeof value !== 'number') throw typeError(api, `${param} as an integer`, value);
  if (!Number.isSafeInteger(value)) throw rangeError(api, `${param} as a safe integer`, value);
  return value;
}

/**
 * A safe integer >= 1 (a size). Anything else is a RangeError, whatever its
 * type: the message already says what is wanted.
 * @throws {RangeError} when `value` is not a positive safe integer
 * @example
 * positiveInteger('kernels.channelStats', 'layout.outer', 8); // 8
 */
export function positiveInteger(api: string, param: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw rangeError(api, `${param} as a positive integer`, value);
  return value;
}

/**
 * A boolean.
 * @throws {TypeError} when `value` is not a boolean
 * @example
 * boolean('SGD', 'nesterov', false); // false
 */
export function boolean(api: string, param: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw typeError(api, `${param} as a boolean`, value);
  return value;
}

/**
 * A non-empty string.
 * @throws {TypeError} when `value` is not a string or is empty
 * @example
 * nonEmptyString('Layer.saveWeights', 'path', 'w.safetensors');
 */
export function nonEmptyString(api: string, param: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw typeError(api, `${param} as a non-empty string`, value);
  return value;
}

/**
 * One of a few strings.
 * @param choices the accepted values, listed in the message (`'a' or 'b'`, `'a', 'b' or 'c'`)
 * @throws {RangeError} when `value` is none of them
 * @example
 * oneOf('BatchNormalization', 'movingVarianceCorrection', 'biased', ['unbiased', 'biased'] as const);
 */
export function oneOf<T extends string>(api: string, param: string, value: unknown, choices: readonly T[]): T {
  if (!(choices as readonly unknown[]).includes(value)) throw rangeError(api, `${param} ${listChoices(choices)}`, value);
  return value as T;
}

function listChoices(choices: readonly string[]): string {
  const quoted = choices.map((c) => `'${c}'`);
  return quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/**
 * A dtype name; `undefined` gives `fallback` when one is given.
 * @throws {TypeError} when `value` is neither 'float32' nor 'float64'
 * @example
 * dtype('zeros', 'dtype', undefined, 'float32'); // 'float32'
 */
export function dtype(api: string, param: string, value: unknown, fallback?: DType): DType {
  if (value === undefined && fallback !== undefined) return fallback;
  if (!isDType(value)) throw typeError(api, `${param} 'float32' or 'float64'`, value);
  return value;
}

/**
 * A Float32Array or Float64Array; returns its dtype.
 * @throws {TypeError} for anything else
 * @example
 * floatArrayDtype('kernels.channelStats', 'x', new Float32Array(4)); // 'float32'
 */
export function floatArrayDtype(api: string, param: string, value: unknown): DType {
  const d = dtypeOf(value);
  if (d === undefined) throw typeError(api, `${param} as a Float32Array or Float64Array`, value);
  return d;
}

/**
 * An options object: a plain object (not null, not an array). With `known`,
 * a key outside it is refused and the message lists the known ones.
 * The message names the API only: the options object is the API's argument.
 * @param api public function, for the message
 * @param value the value to check
 * @param known the accepted keys, if the API refuses unknown ones
 * @throws {TypeError} when `value` is not an object, or has a key outside `known`
 * @example
 * options('optimizers.schedules.ExponentialDecay', { decaySteps: 10 }, ['decaySteps', 'decayRate']);
 */
export function options(api: string, value: unknown, known?: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError(api, 'an options object', value);
  if (known !== undefined) {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) throw typeError(api, `options among ${known.join(', ')}`, `unknown option '${key}'`, true);
    }
  }
  return value as Record<string, unknown>;
}

/**
 * Channel (or feature) axes of an input of rank `rank`: an integer or a
 * non-empty array of integers, negatives counted from the end.
 * @returns the sorted, distinct, non-negative axes
 * @throws {TypeError}  when an axis is not an integer, or the array is empty
 * @throws {RangeError} when an axis is out of range or repeated
 * @example
 * channelAxes('BatchNormalization.apply', 'axis', -1, 4); // [3]
 */
export function channelAxes(api: string, param: string, value: unknown, rank: number): number[] {
  const list = typeof value === 'number' ? [value] : Array.isArray(value) && value.length > 0 ? value : null;
  return sortedAxes(api, param, value, list, rank, `${param} as an integer or a non-empty array of integers`, 'input');
}

/**
 * Axes a reduction runs over in a tensor of rank `rank`: an integer, an
 * array of integers (`[]`: none) or undefined (every axis).
 * @returns the sorted, distinct, non-negative axes
 * @throws {TypeError}  when an axis is not an integer
 * @throws {RangeError} when an axis is out of range or repeated
 * @example
 * reductionAxes('sum', 'axis', [0, -1], 3); // [0, 2]
 * reductionAxes('sum', 'axis', undefined, 2); // [0, 1]
 */
export function reductionAxes(api: string, param: string, value: unknown, rank: number): number[] {
  if (value === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof value === 'number' ? [value] : Array.isArray(value) ? value : null;
  return sortedAxes(api, param, value, list, rank, `${param} as an integer, an array of integers, or undefined`, 'a tensor');
}

/** The loop both axis checks share; `of` says what has the rank ('input' for layers and the kernel API, 'a tensor' for ops). */
function sortedAxes(api: string, param: string, value: unknown, list: readonly unknown[] | null, rank: number, what: string, of: string): number[] {
  if (list === null) throw typeError(api, what, value);
  const out: number[] = [];
  for (const a of list) {
    if (typeof a !== 'number' || !Number.isInteger(a)) throw typeError(api, what, value);
    if (a < -rank || a >= rank) throw rangeError(api, `${param} in [${-rank}, ${rank - 1}] for ${of} of rank ${rank}`, a);
    const r = a < 0 ? a + rank : a;
    if (out.includes(r)) throw rangeError(api, `distinct axes in ${param}`, `[${list.join(',')}]`, true);
    out.push(r);
  }
  return out.sort((p, q) => p - q);
}
