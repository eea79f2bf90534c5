/**
 * The shapes of issue 3, mapped onto the [outer, channels, inner] view the
 * kernels take. Channels-last (axis -1) is inner = 1; channels-first
 * (axis 1) is outer = N, inner = H*W.
 */
import type { BenchShape } from './types.js';

export function benchShape(shape: readonly number[], axis: -1 | 1): BenchShape {
  const a = axis < 0 ? shape.length + axis : axis;
  const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const channels = shape[a];
  // A rank-2 [N, C] tensor is both layouts at once; call it channels-last
  // (its channel is the last axis, as Keras' default).
  const layout = inner === 1 ? 'channels-last' : 'channels-first';
  return {
    shape,
    axis,
    layout,
    outer,
    channels,
    inner,
    size: outer * channels * inner,
    label: `[${shape.join(',')}]`,
  };
}

/** Every shape of the bench, smallest first within each layout. */
export const ALL_SHAPES: readonly BenchShape[] = [
  benchShape([2, 4, 4, 3], -1),
  benchShape([32, 64], -1),
  benchShape([32, 28, 28, 128], -1),
  benchShape([64, 56, 56, 64], -1),
  benchShape([4096, 1024], -1),
  benchShape([32, 128, 28, 28], 1),
  benchShape([64, 64, 56, 56], 1),
];

/** The tiny shape whose rows are compared with the empty Node-API call. */
export const TINY_SHAPE = ALL_SHAPES[0];

/** Shapes at or above this many elements are "large" for the roofline target. */
export const LARGE_SHAPE_ELEMENTS = 1 << 20;

/** `--quick`: the tiny and small shapes plus one mid-size shape per layout. */
export const QUICK_SHAPES: readonly BenchShape[] = ALL_SHAPES.filter((s) =>
  ['[2,4,4,3]', '[32,64]', '[32,28,28,128]', '[32,128,28,28]'].includes(s.label),
);

/** `NHWC`/`NCHW`-style short tag for tables. */
export function layoutTag(s: BenchShape): string {
  if (s.shape.length === 2) return 'NC';
  return s.layout === 'channels-last' ? 'C-last' : 'C-first';
}
