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

/** Allocates a zero-filled buffer of `size` elements. */
export function allocate(dtype: DType, size: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
}

/** The dtype of a typed array, or undefined for anything else. */
export function dtypeOf(data: unknown): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  return undefined;
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
