/**
 * The [outer, channels, inner] view every kernel takes (native/kernels/layout.h):
 * element (o, c, i) of a contiguous tensor lives at (o * channels + c) * inner + i.
 */
export interface ChannelLayout {
  outer: number;
  channels: number;
  inner: number;
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
