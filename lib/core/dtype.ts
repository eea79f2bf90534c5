import { markAsUntransferable } from 'node:worker_threads';
import { POOLED_MIN_BYTES, takeBuffer } from './memory.js';

/** Floating-point element types a tensor can hold. */
export type DType = 'float32' | 'float64';

/** The typed array that backs a tensor of a given dtype. */
export type DataFor<D extends DType> = D extends 'float32' ? Float32Array : Float64Array;

/** Any buffer a tensor can be backed by. */
export type FloatArray = Float32Array | Float64Array;

/** True for the two supported dtype names. */
export function isDType(value: unknown): value is DType {
  return value === 'float32' || value === 'float64';
}

// Small buffers come from a pool, as Node's Buffer.allocUnsafe does for the
// same reason: V8 keeps typed arrays of up to 64 bytes on its heap (cheap),
// but a larger `new Float32Array(n)` allocates, zero-fills and tracks its own
// backing store, ~0.5-0.8 us even for 96 floats, which dominated every op and
// layer call on small tensors. A view on a slab costs ~0.1 us. Slab memory is
// never handed out twice, so it is zero like a fresh array. A live small
// tensor keeps its slab (16 KiB at most) alive; slabs are marked
// untransferable so that transferring one tensor's buffer cannot detach its
// neighbours (a transfer copies instead).
const SLAB_BYTES = 16 * 1024;
const POOL_MAX_BYTES = 2 * 1024;
const IN_HEAP_BYTES = 64;
let slab: ArrayBuffer | null = null;
let slabOffset = 0;

/** Allocates a zero-filled buffer of `size` elements (small ones from a pool; see above). */
export function allocate(dtype: DType, size: number): FloatArray {
  const bytes = dtype === 'float32' ? size * 4 : size * 8;
  if (bytes <= IN_HEAP_BYTES || bytes > POOL_MAX_BYTES) {
    return dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
  }
  if (slab === null || slabOffset + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    markAsUntransferable(slab);
    slabOffset = 0;
  }
  const out = dtype === 'float32' ? new Float32Array(slab, slabOffset, size) : new Float64Array(slab, slabOffset, size);
  slabOffset += (bytes + 63) & ~63; // cache-line aligned, so SIMD loads of one array never straddle into another's line
  return out;
}

/**
 * A buffer of `size` elements whose contents are unspecified: for outputs the
 * caller overwrites completely (every op and kernel result). Buffers over
 * 2 KiB come from the tensor memory pool (lib/core/memory.ts): recycled
 * storage of disposed tensors when there is some, so a steady loop inside
 * `tidy` writes to pages that are already mapped. Code that reads before it
 * writes must call {@link allocate} instead. The buffer must end up as the
 * data of a Tensor (that is what returns it to the pool on dispose), and
 * never be kept as a raw array past that tensor's life.
 * @param dtype element type
 * @param size number of elements
 * @returns a buffer of `size` elements, contents unspecified
 * @example
 * const out = allocateUninit('float32', x.size); // then write every element
 */
export function allocateUninit(dtype: DType, size: number): FloatArray {
  const bytes = dtype === 'float32' ? size * 4 : size * 8;
  if (bytes <= POOLED_MIN_BYTES) return allocate(dtype, size);
  const buf = takeBuffer(bytes);
  return dtype === 'float32' ? new Float32Array(buf, 0, size) : new Float64Array(buf, 0, size);
}

/** The dtype of a typed array, or undefined for anything else. */
export function dtypeOf(data: unknown): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  return undefined;
}

/**
 * A copy of `data` in `dtype` (float64 to float32 rounds to nearest).
 * @param data values to copy
 * @param dtype element type of the copy
 * @returns a new buffer of the same length
 * @example
 * copyAs(new Float64Array([0.1]), 'float32'); // Float32Array [0.10000000149011612]
 */
export function copyAs(data: ArrayLike<number>, dtype: DType): FloatArray {
  const out = allocate(dtype, data.length);
  out.set(data);
  return out;
}

/**
 * `data` in `dtype`: `data` itself when it already has that dtype, else a
 * converted copy ({@link copyAs}).
 * @param data values to read
 * @param dtype wanted element type
 * @returns `data` or a copy
 * @example
 * convertData(dy.data, x.dtype); // an upstream gradient in x's dtype
 */
export function convertData(data: FloatArray, dtype: DType): FloatArray {
  return dtypeOf(data) === dtype ? data : copyAs(data, dtype);
}

/** Result dtype of combining two dtypes (float64 wins, as NumPy promotes). */
export function promote(a: DType, b: DType): DType {
  return a === 'float64' || b === 'float64' ? 'float64' : 'float32';
}

/**
 * True when the memory behind a typed array was transferred away (its
 * ArrayBuffer is detached: `structuredClone(buf, { transfer: [buf] })`,
 * `postMessage` with a transfer list). Such an array reads as length 0.
 * Cheap: only an empty view over a non-shared buffer needs the probe.
 */
export function isDetached(a: ArrayBufferView): boolean {
  if (a.byteLength !== 0) return false;
  const buffer = a.buffer as ArrayBuffer & { detached?: boolean };
  if (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer) return false;
  if (typeof buffer.detached === 'boolean') return buffer.detached;
  try {
    new Uint8Array(buffer); // throws a TypeError on a detached buffer (Node < 21 has no .detached)
    return false;
  } catch {
    return true;
  }
}

/**
 * True when two typed arrays share bytes: views on one ArrayBuffer whose
 * byte ranges intersect. Views on different buffers never do.
 */
export function sharesMemory(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
