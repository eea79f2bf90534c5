import { rangeError, typeError } from './errors.js';

/**
 * The [outer, channels, inner] view every kernel takes (native/kernels/layout.h):
 * element (o, c, i) of a contiguous tensor lives at (o * channels + c) * inner + i.
 */
export interface ChannelLayout {
  outer: number;
  channels: number;
  inner: number;
}

/**
 * Resolves `axis` (an int or a list of ints, negatives counted from the end)
 * against a rank, returning the sorted, distinct, non-negative axes.
 * @throws {TypeError}  when an axis is not an integer
 * @throws {RangeError} when an axis is out of range or repeated
 */
export function resolveAxes(axis: number | readonly number[], rank: number, api: string, param = 'axis'): number[] {
  const list = typeof axis === 'number' ? [axis] : Array.isArray(axis) ? axis : null;
  if (list === null || list.length === 0) throw typeError(api, `${param} as an integer or a non-empty array of integers`, axis);
  const out: number[] = [];
  for (const a of list) {
    if (typeof a !== 'number' || !Number.isInteger(a)) throw typeError(api, `${param} as an integer or a non-empty array of integers`, axis);
    if (a < -rank || a >= rank) {
      throw rangeError(api, `${param} in [${-rank}, ${rank - 1}] for input of rank ${rank}`, a);
    }
    const r = a < 0 ? a + rank : a;
    if (out.includes(r)) throw rangeError(api, `distinct axes in ${param}`, axis);
    out.push(r);
  }
  return out.sort((p, q) => p - q);
}

/** True when the sorted axes form one contiguous run. */
export function axesAreAdjacent(axes: readonly number[]): boolean {
  return axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
}

/**
 * The [outer, channels, inner] view of `shape` with the adjacent `axes`
 * (sorted, resolved) flattened into the channel dimension.
 */
export function channelLayout(shape: readonly number[], axes: readonly number[]): ChannelLayout {
  const first = axes[0];
  const last = axes[axes.length - 1];
  let outer = 1;
  let channels = 1;
  let inner = 1;
  for (let d = 0; d < shape.length; d++) {
    if (d < first) outer *= shape[d];
    else if (d <= last) channels *= shape[d];
    else inner *= shape[d];
  }
  return { outer, channels, inner };
}

/**
 * Strides, in elements, of a contiguous row-major tensor of `shape`.
 * @param shape dimensions
 * @returns strides[d] = product of shape[d + 1 ..]
 * @example
 * rowMajorStrides([2, 3, 4]); // [12, 4, 1]
 */
export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}
