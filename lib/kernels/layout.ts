/**
 * The data layout of a kernel API call, resolved to the [outer, channels,
 * inner] view every kernel takes (native/kernels/layout.h).
 */
import { rangeError, typeError } from '../core/errors.js';
import { axesAreAdjacent, channelLayout, type ChannelLayout } from '../core/layout.js';
import { shapeSize } from '../core/tensor.js';
import { channelAxes, positiveInteger } from '../core/validate.js';

/** A data layout: the explicit view, or a shape and its channel axis (default -1). */
export type KernelLayout = ChannelLayout | { shape: readonly number[]; axis?: number | readonly number[] };

/**
 * Reads `layout` once into a fresh view. The view belongs to the one call
 * that resolved it: a getter on `layout` (or on any later option) may run
 * other kernel API calls without changing this one's view.
 * @param api public function, for messages
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @returns the [outer, channels, inner] view
 * @throws {TypeError}  when `layout` is not an object, or an axis is not an integer
 * @throws {RangeError} for a dimension that is not a positive integer, an empty or zero-size shape,
 *   an axis out of range, or channel axes that are not adjacent
 */
export function resolveLayout(api: string, layout: unknown): ChannelLayout {
  if (typeof layout !== 'object' || layout === null) throw typeError(api, 'layout as { outer, channels, inner } or { shape, axis }', layout);
  if ('shape' in layout) {
    const { shape, axis } = layout as { shape: readonly number[]; axis?: unknown };
    shapeSize(shape, api, 'layout.shape');
    if (shape.length === 0) throw rangeError(api, 'layout.shape of rank >= 1', '[]', true);
    if (shape.includes(0)) throw rangeError(api, 'layout.shape without zero-size dimensions', `[${shape.join(',')}]`, true);
    const axes = channelAxes(api, 'layout.axis', axis ?? -1, shape.length);
    if (!axesAreAdjacent(axes)) throw rangeError(api, 'adjacent channel axes in layout.axis', `[${axes.join(',')}]`, true);
    return channelLayout(shape, axes);
  }
  const view = layout as ChannelLayout;
  const outer = positiveInteger(api, 'layout.outer', view.outer);
  const channels = positiveInteger(api, 'layout.channels', view.channels);
  const inner = positiveInteger(api, 'layout.inner', view.inner);
  return { outer, channels, inner };
}
