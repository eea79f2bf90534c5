/**
 * Error classes of normkit. Every error thrown on bad input is one of these:
 * a `TypeError` or `RangeError` subclass (so `instanceof TypeError` works)
 * with a stable `code` and a message of the form
 * `<api>: expected <what>, got <actual>`.
 */

/** Stable codes carried by every normkit error. */
export type NormkitErrorCode =
  | 'ERR_NORMKIT_INVALID_TYPE'
  | 'ERR_NORMKIT_INVALID_VALUE'
  | 'ERR_NORMKIT_SHAPE_MISMATCH'
  | 'ERR_NORMKIT_INVALID_STATE'
  /** A tensor used after `dispose()` (or after the `tidy` that created it ended). */
  | 'ERR_NORMKIT_DISPOSED';

/** Wrong type of an argument (a string where a number was expected, ...). */
export class NormkitTypeError extends TypeError {
  readonly code: NormkitErrorCode;
  constructor(message: string, code: NormkitErrorCode = 'ERR_NORMKIT_INVALID_TYPE') {
    super(message);
    this.name = 'TypeError';
    this.code = code;
  }
}

/** Right type, bad value: out of range, wrong size, incompatible shape, bad state. */
export class NormkitRangeError extends RangeError {
  readonly code: NormkitErrorCode;
  constructor(message: string, code: NormkitErrorCode = 'ERR_NORMKIT_INVALID_VALUE') {
    super(message);
    this.name = 'RangeError';
    this.code = code;
  }
}

/** Short, readable description of any value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return 'a function';
  if (ArrayBuffer.isView(value)) {
    return `${value.constructor.name}(${(value as unknown as { length?: number }).length ?? value.byteLength})`;
  }
  if (Array.isArray(value)) {
    if (value.length <= 6 && value.every((v) => typeof v === 'number')) return `[${value.join(',')}]`;
    return `an array of length ${value.length}`;
  }
  const name = (value as object).constructor?.name;
  if (name === 'Tensor') {
    const t = value as { shape: readonly number[]; dtype: string };
    return `a ${t.dtype} tensor of shape [${t.shape.join(',')}]`;
  }
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** `TypeError` with the house message form. */
export function typeError(api: string, expected: string, got: unknown, gotIsText = false): NormkitTypeError {
  return new NormkitTypeError(`${api}: expected ${expected}, got ${gotIsText ? String(got) : describe(got)}`);
}

/** `RangeError` with the house message form. */
export function rangeError(
  api: string,
  expected: string,
  got: unknown,
  gotIsText = false,
  code: NormkitErrorCode = 'ERR_NORMKIT_INVALID_VALUE',
): NormkitRangeError {
  return new NormkitRangeError(`${api}: expected ${expected}, got ${gotIsText ? String(got) : describe(got)}`, code);
}
