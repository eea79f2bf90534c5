/**
 * Checks of the kernel API's typed-array arguments: dtype, length, live
 * buffer, and that outputs share memory with nothing they must not. They run
 * on every call of a service's hot loop, so the success path reads as little
 * as it can and allocates only outputs the caller did not give.
 *
 * native/binding/args.h checks types, lengths and aliasing again (the binding
 * can be called directly); these are the checks whose messages users see, in
 * the kernel API's own parameter names.
 */
import { allocate, isDetached, sharesMemory, type DType, type FloatArray } from '../core/dtype.js';
import { rangeError, typeError } from '../core/errors.js';
import { options } from '../core/validate.js';

/**
 * `value` as a live typed array of `dtype` and `length`. A detached view
 * reads as length 0 and every expected length is >= 1, so the detached probe
 * only runs once the length is wrong (it decides which message fits).
 * @throws {TypeError}  for another type or dtype, or a detached buffer
 * @throws {RangeError} for another length
 */
export function floatArg(api: string, param: string, value: unknown, dtype: DType, length: number): FloatArray {
  if (!(dtype === 'float32' ? value instanceof Float32Array : value instanceof Float64Array)) {
    throw typeError(api, `${param} as a ${dtype === 'float32' ? 'Float32Array' : 'Float64Array'} (same dtype as x)`, value);
  }
  const arr = value as FloatArray;
  if (arr.length !== length) {
    if (isDetached(arr)) throw typeError(api, `${param} backed by a live ArrayBuffer`, `${arr.constructor.name} over a detached ArrayBuffer`, true);
    throw rangeError(api, `${param} of length ${length}`, `length ${arr.length}`, true);
  }
  return arr;
}

/** {@link floatArg} for an optional parameter: null or undefined give null (the kernel's default). */
export function optionalFloatArg(api: string, param: string, value: unknown, dtype: DType, length: number): FloatArray | null {
  return value === undefined || value === null ? null : floatArg(api, param, value, dtype, length);
}

/** An output buffer: the caller's, checked ({@link floatArg}), or a fresh zeroed one. */
export function outputArg(api: string, param: string, value: unknown, dtype: DType, length: number): FloatArray {
  return value === undefined ? allocate(dtype, length) : floatArg(api, param, value, dtype, length);
}

const NO_OPTIONS: Readonly<Record<string, undefined>> = Object.freeze({});

/** The options argument of a kernel API function: undefined reads as `{}`. */
export function optionsArg(api: string, value: unknown): Readonly<Record<string, unknown>> {
  return value === undefined ? NO_OPTIONS : options(api, value);
}

// A view's ArrayBuffer is fixed for the view's life (detaching or resizing
// the buffer keeps the same object), but reading `.buffer` is a call into
// V8's C++ runtime, ~40 ns: seven of them would double a tiny call. A service
// passes the same arrays on every call, so their buffers are remembered. The
// map holds no call state (only that immutable fact) and its keys weakly.
const bufferMemo = new WeakMap<FloatArray, ArrayBufferLike>();

function bufferOf(a: FloatArray): ArrayBufferLike {
  let b = bufferMemo.get(a);
  if (b === undefined) {
    b = a.buffer;
    bufferMemo.set(a, b);
  }
  return b;
}

/** Parameter names of a call's arrays, for {@link checkDisjoint}'s messages. */
export interface ArgNames {
  readonly outs: readonly string[];
  readonly ins: readonly string[];
}

/**
 * Outputs share memory with no input and no other output, except that the
 * first output may be exactly the input at `inPlace` (same offset and
 * length). Same rule and order as native/binding/args.h NoOverlap. Only
 * caller-given outputs can overlap anything: pass fresh ones as null, and
 * skip the call when the caller gave none.
 * @param api public function, for messages
 * @param names parameter names of the outputs and inputs
 * @param arrays the caller's outputs (null: allocated by this call), then the inputs (null: absent), in the order of `names`
 * @param inPlace index (among the inputs) of the input the first output may be, or -1
 * @throws {RangeError} naming the first pair that overlaps
 */
export function checkDisjoint(api: string, names: ArgNames, arrays: readonly (FloatArray | null)[], inPlace = -1): void {
  const passed = lastDisjoint.get(names);
  if (passed !== undefined && sameArrays(passed, arrays)) return;
  overlapCheck(api, names, arrays, inPlace);
  lastDisjoint.set(names, arrays.slice());
}

// The arrays of the last call (per kind of call) that passed the check.
// A service calls with the same arrays every time, and their disjointness
// cannot change between calls: a view keeps its buffer and offset for life,
// and every length was just checked to be the one the call expects, so the
// same arrays span the same bytes. This is a remembered fact, not call state:
// a reentrant call can only replace it with another tuple that passed.
const lastDisjoint = new WeakMap<ArgNames, readonly (FloatArray | null)[]>();

function sameArrays(a: readonly (FloatArray | null)[], b: readonly (FloatArray | null)[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

function overlapCheck(api: string, names: ArgNames, arrays: readonly (FloatArray | null)[], inPlace: number): void {
  // Views on distinct ArrayBuffers cannot overlap: compare the buffers'
  // identities first; only a shared buffer needs the byte ranges.
  const nOuts = names.outs.length;
  const buffers = new Array<ArrayBufferLike | null>(arrays.length);
  for (let k = 0; k < arrays.length; k++) {
    const a = arrays[k];
    buffers[k] = a === null ? null : bufferOf(a);
  }
  let shared = false;
  for (let i = 0; i < nOuts && !shared; i++) {
    const b = buffers[i];
    if (b === null) continue;
    for (let j = i + 1; j < buffers.length && !shared; j++) shared = buffers[j] === b;
  }
  if (!shared) return;
  for (let i = 0; i < nOuts; i++) {
    const o = arrays[i];
    if (o === null) continue;
    for (let j = i + 1; j < arrays.length; j++) {
      const other = arrays[j];
      if (other === null || !sharesMemory(o, other)) continue;
      if (j < nOuts) throw rangeError(api, `${names.outs[i]} not to share memory with ${names.outs[j]}`, 'overlapping arrays', true);
      const input = j - nOuts;
      if (i === 0 && input === inPlace) {
        if (o.byteOffset === other.byteOffset && o.byteLength === other.byteLength) continue;
        throw rangeError(api, `${names.outs[i]} to be ${names.ins[input]} itself (in place) or not to share memory with it`, 'a partial overlap', true);
      }
      throw rangeError(api, `${names.outs[i]} not to share memory with ${names.ins[input]}`, 'overlapping arrays', true);
    }
  }
}
