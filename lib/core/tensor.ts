import { inspect } from 'node:util';
import { allocate, dtypeOf, isDetached, isDType, type DType, type FloatArray } from './dtype.js';
import { describe, rangeError, typeError, NormkitRangeError } from './errors.js';
import { formatNumpyStr } from './format.js';
import { adoptStorage, dropStorage, isHeld, trackTensor } from './memory.js';

/** Nested JavaScript arrays of numbers, any depth. */
export type NestedArray = number | NestedArray[];

let nextTensorId = 1;
const EMPTY_F32 = new Float32Array(0);
const EMPTY_F64 = new Float64Array(0);

function disposedError(t: Tensor, api: string): NormkitRangeError {
  return new NormkitRangeError(
    `${api}: expected a live tensor, got a disposed ${t.dtype} tensor of shape [${t.shape.join(',')}] (id ${t.id}; disposed by dispose() or by the tidy that created it)`,
    'ERR_NORMKIT_DISPOSED',
  );
}

/**
 * An immutable-shape, contiguous, row-major n-dimensional array of float32 or
 * float64 values. `data` is the backing typed array; ops never modify an input
 * tensor's data (only `Variable` assignment and kernel out-buffers write in
 * place, and they bump `version` so a gradient tape can detect it).
 *
 * @example
 * const t = nk.tensor([[1, 2], [3, 4]]);
 * t.shape;     // [2, 2]
 * t.toArray(); // [[1, 2], [3, 4]]
 */
export class Tensor {
  /** Unique id of this tensor within the process (used by gradient tapes). */
  readonly id: number;
  /** Dimensions, outermost first. `[]` is a scalar. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Number of elements (product of `shape`). */
  readonly size: number;
  /** Incremented by every in-place write; tapes refuse gradients through changed inputs. */
  version = 0;
  private _data: FloatArray;
  private _disposed = false;
  /** @internal exempt from `tidy` (nk.keep, variable values) */
  _kept = false;
  /** @internal dispose() was called while a tape held the tensor */
  _pendingDispose = false;

  /**
   * Wraps `data` (no copy) as a tensor of `shape`. Prefer {@link tensor} for
   * user input: this constructor trusts its arguments after cheap checks.
   * @throws {RangeError} when `data.length` differs from the product of `shape`.
   */
  constructor(data: FloatArray, shape: readonly number[]) {
    const dtype = dtypeOf(data);
    if (dtype === undefined) throw typeError('Tensor', 'a Float32Array or Float64Array', data);
    const size = shapeSize(shape, 'Tensor');
    if (size !== data.length) {
      throw rangeError('Tensor', `data of length ${size} for shape [${shape.join(',')}]`, `length ${data.length}`, true);
    }
    this.id = nextTensorId++;
    // A private copy, typed readonly. Not Object.freeze: V8 keeps frozen arrays in
    // a slow mode where copying one costs ~0.3 us and freezing ~0.7 us, which
    // would dominate every op on small tensors.
    this.shape = shape.slice();
    this.dtype = dtype;
    this.size = size;
    this._data = data;
    adoptStorage(this, data);
    trackTensor(this);
  }

  /**
   * Backing buffer, row-major, `size` elements. Small tensors made by normkit
   * are views into a shared slab, and large ones may be recycled storage from
   * the pool (lib/core/memory.ts): use `data.byteOffset` / `data.byteLength`
   * with `data.buffer`, as with Node's pooled Buffers, and do not keep `data`
   * past the tensor's `dispose()`: its storage is then reused.
   * @throws {RangeError} (code ERR_NORMKIT_DISPOSED) once the tensor is disposed
   */
  get data(): FloatArray {
    if (this._disposed) throw disposedError(this, 'Tensor.data');
    return this._data;
  }

  /** True once {@link dispose} ran (directly, through `nk.dispose`, or at the end of a `tidy`). */
  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Releases the tensor: its storage goes back to the pool for reuse (when
   * no other tensor shares it) and any later use is an `ERR_NORMKIT_DISPOSED`
   * error. Disposing twice is harmless. While a gradient tape still needs
   * the tensor, disposal waits until the tape releases it.
   * @example
   * const y = nk.mul(x, 2); use(y); y.dispose();
   */
  dispose(): void {
    if (this._disposed) return;
    if (isHeld(this)) {
      this._pendingDispose = true;
      return;
    }
    this._disposed = true;
    const data = this._data;
    this._data = data instanceof Float32Array ? EMPTY_F32 : EMPTY_F64;
    dropStorage(this, data);
  }

  /** The id the next tensor will get (ids only grow): tensors with a larger or equal id were created later. @internal */
  static nextId(): number {
    return nextTensorId;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** The values as nested arrays (a number for a scalar). */
  toArray(): NestedArray {
    return toNested(this.data, this.shape);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw rangeError('Tensor.item', 'a tensor with exactly one element', `shape [${this.shape.join(',')}]`, true);
    return this.data[0];
  }

  /** A copy of the values as a new typed array. */
  dataSync(): FloatArray {
    return this.data.slice();
  }

  /** NumPy-style text of the values (NumPy's `str`), e.g. `[1. 2. 3.]`, or `1.0` for a scalar. */
  toNumpyString(): string {
    return formatNumpyStr(this.data, this.shape);
  }

  /** TensorFlow-style text, e.g. `tf.Tensor([1. 2.], shape=(2,), dtype=float32)`. */
  toString(): string {
    if (this._disposed) return `tf.Tensor(<disposed>, shape=${shapeTuple(this.shape)}, dtype=${this.dtype})`;
    const body = this.toNumpyString();
    const pad = body.includes('\n') ? '\n' : '';
    return `tf.Tensor(${pad}${body}, shape=${shapeTuple(this.shape)}, dtype=${this.dtype})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** `(2, 3)` / `(3,)` / `()` as Python prints a shape tuple. */
export function shapeTuple(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/**
 * A shape as error messages print it.
 * @param shape dimensions
 * @returns e.g. `[2,3]`
 * @example
 * shapeText([2, 3]); // '[2,3]'
 */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Validates a shape and returns its element count. */
export function shapeSize(shape: readonly number[], api: string, param = 'shape'): number {
  if (!Array.isArray(shape)) throw typeError(api, `${param} as an array of non-negative integers`, shape);
  let size = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw rangeError(api, `${param} as an array of non-negative integers`, `[${shape.map((v) => describe(v)).join(',')}]`, true);
    }
    size *= d;
  }
  if (!Number.isSafeInteger(size)) throw rangeError(api, `${param} with fewer than 2^53 elements`, `[${shape.join(',')}]`, true);
  return size;
}

function toNested(data: FloatArray, shape: readonly number[]): NestedArray {
  if (shape.length === 0) return data[0];
  const build = (offset: number, dim: number): NestedArray[] => {
    const n = shape[dim];
    const out: NestedArray[] = new Array(n);
    if (dim === shape.length - 1) {
      for (let i = 0; i < n; i++) out[i] = data[offset + i];
      return out;
    }
    let stride = 1;
    for (let d = dim + 1; d < shape.length; d++) stride *= shape[d];
    for (let i = 0; i < n; i++) out[i] = build(offset + i * stride, dim + 1);
    return out;
  };
  return build(0, 0);
}

/** Anything that reads as a tensor: a Variable exposes its current value through this. */
export interface TensorSource {
  read(): Tensor;
}

/** Values an op accepts where it wants a tensor. */
export type TensorLike = Tensor | TensorSource | number | NestedArray | FloatArray;

/** True for anything with a `read()` that gives a tensor: a Variable, or a user's own source (not a Tensor itself). */
export function isTensorSource(x: unknown): x is TensorSource {
  return typeof x === 'object' && x !== null && typeof (x as TensorSource).read === 'function';
}

/**
 * Converts a {@link TensorLike} to a tensor. Tensors pass through, variables
 * give their current value, numbers become scalars, nested arrays must be
 * rectangular. `dtype` applies to new tensors only (default float32).
 */
export function toTensor(x: TensorLike, api: string, param: string, dtype?: DType): Tensor {
  const t = x instanceof Tensor ? x : isTensorSource(x) ? x.read() : null;
  if (t !== null) {
    if (t.isDisposed) throw disposedError(t, `${api}: ${param}`);
    // A tensor whose buffer was transferred away reads as length 0 (its size says otherwise).
    if (t.data.length !== t.size) throw typeError(api, `${param} backed by a live ArrayBuffer`, `${describe(t)} over a detached ArrayBuffer`, true);
    return t;
  }
  return tensor(x as NestedArray | FloatArray, undefined, dtype, `${api}: ${param}`);
}

/**
 * Creates a tensor from a number, nested arrays or a typed array (copied).
 *
 * @param values number, rectangular nested arrays, or a Float32Array/Float64Array/number[]
 * @param shape  optional shape; required to reshape a flat array
 * @param dtype  'float32' (default, or the typed array's type) or 'float64'
 * @throws {TypeError}  when `values` holds something other than numbers, or dtype is unknown
 * @throws {RangeError} when nested arrays are ragged or `shape` does not match the value count
 * @example
 * nk.tensor([1, 2, 3]);                      // shape [3], float32
 * nk.tensor([1, 2, 3, 4], [2, 2], 'float64');
 */
export function tensor(values: NestedArray | FloatArray, shape?: readonly number[], dtype?: DType, api = 'tensor'): Tensor {
  if (dtype !== undefined && !isDType(dtype)) throw typeError(api, `dtype 'float32' or 'float64'`, dtype);
  let flat: ArrayLike<number>;
  let inferred: number[];
  const arrayDtype = dtypeOf(values);
  if (arrayDtype !== undefined) {
    if (isDetached(values as FloatArray)) {
      throw typeError(api, 'values backed by a live ArrayBuffer', `${(values as FloatArray).constructor.name} over a detached ArrayBuffer`, true);
    }
    flat = values as FloatArray;
    inferred = [(values as FloatArray).length];
    dtype ??= arrayDtype;
  } else if (typeof values === 'number') {
    flat = [values];
    inferred = [];
  } else if (Array.isArray(values)) {
    inferred = [];
    let level: unknown = values;
    while (Array.isArray(level)) {
      inferred.push(level.length);
      level = level[0];
    }
    const out: number[] = [];
    flattenInto(values, inferred, 0, out, api);
    flat = out;
  } else {
    throw typeError(api, 'a number, nested arrays of numbers, or a Float32Array/Float64Array', values);
  }
  const resolved = dtype ?? 'float32';
  let finalShape = inferred;
  if (shape !== undefined) {
    const size = shapeSize(shape, api);
    if (size !== flat.length) {
      throw rangeError(api, `${size} values for shape [${shape.join(',')}]`, `${flat.length} values`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
    finalShape = shape.slice();
  }
  const data = allocate(resolved, flat.length);
  for (let i = 0; i < flat.length; i++) data[i] = flat[i];
  return new Tensor(data, finalShape);
}

function flattenInto(values: NestedArray, shape: number[], dim: number, out: number[], api: string): void {
  if (dim === shape.length) {
    if (typeof values !== 'number') throw typeError(api, 'numbers in the nested arrays', values);
    out.push(values);
    return;
  }
  if (!Array.isArray(values) || values.length !== shape[dim]) {
    throw new NormkitRangeError(
      `${api}: expected a rectangular nested array (length ${shape[dim]} at depth ${dim}), got ${describe(values)}`,
      'ERR_NORMKIT_SHAPE_MISMATCH',
    );
  }
  for (const v of values) flattenInto(v, shape, dim + 1, out, api);
}
