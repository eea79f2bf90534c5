/**
 * Ops that rearrange elements without arithmetic: reshape, transpose,
 * expandDims, squeeze, concat. Results never share memory with their input
 * (a variable's value is updated in place, and a view would change with it).
 * All are differentiable (gradients in lib/gradients/shape_grad.ts).
 */
import { allocate, allocateUninit, promote, type FloatArray } from '../core/dtype.js';
import { describe, NormkitRangeError, rangeError, typeError } from '../core/errors.js';
import { recordOp } from '../autodiff/tape.js';
import { shapeText, Tensor, toTensor, type TensorLike } from '../core/tensor.js';
import { rowMajorStrides } from '../core/layout.js';
import { collapsePlan, forEachRun } from './broadcast.js';

/**
 * Same data (copied) under another shape of as many elements; no checks, no recording.
 * @param x source tensor
 * @param shape new shape
 * @returns the reshaped copy
 * @example
 * reshapeRaw(dy, x.shape); // the gradient of reshape, expandDims and squeeze
 */
export function reshapeRaw(x: Tensor, shape: readonly number[]): Tensor {
  return new Tensor(x.data.slice(), shape);
}

/**
 * The same elements (row-major order) under a new shape. One dimension may
 * be -1: it is inferred from the others.
 *
 * @param x tensor, variable, number or nested array
 * @param shape new dimensions: non-negative integers and at most one -1
 * @returns a new tensor of `shape` with a copy of the data
 * @throws {TypeError}  when `shape` is not an array of integers
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when the element counts differ or -1 cannot be inferred
 * @example
 * nk.reshape(nk.tensor([1, 2, 3, 4, 5, 6]), [2, -1]); // shape [2, 3]
 */
export function reshape(x: TensorLike, shape: readonly number[]): Tensor {
  const api = 'reshape';
  const t = toTensor(x, api, 'x');
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isInteger(d))) {
    throw typeError(api, 'shape as an array of integers', shape);
  }
  const inferred = shape.filter((d) => d === -1).length;
  if (inferred > 1 || shape.some((d) => d < -1)) {
    throw rangeError(api, 'shape of non-negative integers with at most one -1', shapeText(shape), true);
  }
  const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
  let resolved = shape.slice();
  if (inferred === 1) {
    if (known === 0 || t.size % known !== 0) {
      throw rangeError(api, `a shape whose -1 can be inferred for ${t.size} elements (input shape ${shapeText(t.shape)})`, shapeText(shape), true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
    resolved = shape.map((d) => (d === -1 ? t.size / known : d));
  } else if (known !== t.size) {
    throw rangeError(api, `a shape with ${t.size} elements (input shape ${shapeText(t.shape)})`, shapeText(shape), true, 'ERR_NORMKIT_SHAPE_MISMATCH');
  }
  const out = reshapeRaw(t, resolved);
  recordOp('Reshape', [t], [out], null, null);
  return out;
}

/**
 * Permutes the axes of `x` into a new contiguous tensor, without checks or
 * recording (for ops that rearrange data internally): out.shape[i] = x.shape[perm[i]].
 * @param x source tensor
 * @param perm a permutation of [0, x.rank)
 * @returns the permuted copy
 * @example
 * transposeRaw(tensor([[1, 2, 3]]), [1, 0]).toArray(); // [[1], [2], [3]]
 */
export function transposeRaw(x: Tensor, perm: readonly number[]): Tensor {
  const shape = perm.map((p) => x.shape[p]);
  const out = allocateUninit(x.dtype, x.size);
  if (x.size === 0) return new Tensor(out, shape);
  const xStrides = rowMajorStrides(x.shape);
  const plan = collapsePlan(shape, [rowMajorStrides(shape), perm.map((p) => xStrides[p])]);
  const sx = plan.strides[1][plan.shape.length - 1];
  const src = x.data;
  forEachRun(plan, (off, n) => {
    const o = off[0];
    let j = off[1];
    for (let i = 0; i < n; i++, j += sx) out[o + i] = src[j];
  });
  return new Tensor(out, shape);
}

/**
 * Inverse of a permutation.
 * @param perm a permutation of [0, n)
 * @returns q with q[perm[i]] = i
 * @example
 * inversePerm([1, 2, 0]); // [2, 0, 1]
 */
export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}

/**
 * `data` (in the permuted order `perm` gave, or x's own when null) as a tensor of `shape`.
 * @param data values in the permuted order
 * @param shape the unpermuted shape
 * @param perm the permutation applied, or null
 * @returns the tensor in `shape`'s order
 * @example
 * unpermute(y, x.shape, [0, 2, 1]);
 */
export function unpermute(data: FloatArray, shape: readonly number[], perm: readonly number[] | null): Tensor {
  if (!perm) return new Tensor(data, shape);
  return transposeRaw(new Tensor(data, perm.map((d) => shape[d])), inversePerm(perm));
}

/** What {@link transpose} records for its gradient. */
export interface TransposeAttrs {
  perm: number[];
}

/** What {@link concat} records for its gradient: the axis, and the sizes before and after it. */
export interface ConcatAttrs {
  axis: number;
  outer: number;
  inner: number;
}

/**
 * Permutes the dimensions: `out.shape[i] = x.shape[perm[i]]`.
 *
 * @param x tensor, variable, number or nested array
 * @param perm a permutation of [0, rank); default reverses the axes (matrix transpose for rank 2)
 * @returns a new, contiguous tensor
 * @throws {TypeError}  when `perm` is not an array of integers
 * @throws {RangeError} when `perm` is not a permutation of the axes
 * @example
 * nk.transpose(nk.zeros([2, 3, 4]), [0, 2, 1]).shape; // [2, 4, 3]
 */
export function transpose(x: TensorLike, perm?: readonly number[]): Tensor {
  const api = 'transpose';
  const t = toTensor(x, api, 'x');
  const rank = t.rank;
  const p = perm === undefined ? Array.from({ length: rank }, (_, i) => rank - 1 - i) : perm;
  if (!Array.isArray(p) || p.some((d) => typeof d !== 'number' || !Number.isInteger(d))) {
    throw typeError(api, 'perm as an array of integers', perm);
  }
  const sorted = p.slice().sort((a, b) => a - b);
  if (p.length !== rank || sorted.some((d, i) => d !== i)) {
    throw rangeError(api, `perm as a permutation of [0..${rank - 1}] for a tensor of rank ${rank}`, `[${p.join(',')}]`, true);
  }
  const out = transposeRaw(t, p);
  recordOp('Transpose', [t], [out], null, { perm: p.slice() } satisfies TransposeAttrs);
  return out;
}

/**
 * Inserts a dimension of size 1 at `axis`.
 *
 * @param x tensor, variable, number or nested array
 * @param axis position of the new axis in the result, in [-(rank+1), rank]
 * @returns a tensor of rank + 1
 * @throws {TypeError}  when `axis` is not an integer
 * @throws {RangeError} when `axis` is out of range
 * @example
 * nk.expandDims(nk.tensor([1, 2, 3]), 0).shape; // [1, 3]
 */
export function expandDims(x: TensorLike, axis = 0): Tensor {
  const api = 'expandDims';
  const t = toTensor(x, api, 'x');
  if (typeof axis !== 'number' || !Number.isInteger(axis)) throw typeError(api, 'axis as an integer', axis);
  const rank = t.rank;
  if (axis < -(rank + 1) || axis > rank) throw rangeError(api, `axis in [${-(rank + 1)}, ${rank}] for a tensor of rank ${rank}`, axis);
  const at = axis < 0 ? axis + rank + 1 : axis;
  const shape = t.shape.slice();
  shape.splice(at, 0, 1);
  const out = reshapeRaw(t, shape);
  recordOp('ExpandDims', [t], [out], null, null);
  return out;
}

/**
 * Removes dimensions of size 1: all of them, or the ones named by `axis`.
 *
 * @param x tensor, variable, number or nested array
 * @param axis axis or axes to remove (each must have size 1); all size-1 axes when undefined
 * @returns a tensor without those axes
 * @throws {TypeError}  when `axis` is not integer(s)
 * @throws {RangeError} when an axis is out of range, repeated, or not of size 1
 * @example
 * nk.squeeze(nk.zeros([1, 3, 1])).shape;    // [3]
 * nk.squeeze(nk.zeros([1, 3, 1]), 0).shape; // [3, 1]
 */
export function squeeze(x: TensorLike, axis?: number | readonly number[]): Tensor {
  const api = 'squeeze';
  const t = toTensor(x, api, 'x');
  const rank = t.rank;
  let drop: number[];
  if (axis === undefined) {
    drop = t.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  } else {
    const list = typeof axis === 'number' ? [axis] : Array.isArray(axis) ? axis : null;
    if (list === null || list.some((a) => typeof a !== 'number' || !Number.isInteger(a))) {
      throw typeError(api, 'axis as an integer or an array of integers', axis);
    }
    drop = [];
    for (const a of list) {
      if (a < -rank || a >= rank) throw rangeError(api, `axis in [${-rank}, ${rank - 1}] for a tensor of rank ${rank}`, a);
      const r = a < 0 ? a + rank : a;
      if (drop.includes(r)) throw rangeError(api, 'distinct axes', `[${list.join(',')}]`, true);
      if (t.shape[r] !== 1) {
        throw rangeError(api, `axis ${a} of size 1`, `size ${t.shape[r]} in shape ${shapeText(t.shape)}`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
      }
      drop.push(r);
    }
  }
  const shape = t.shape.filter((_, i) => !drop.includes(i));
  const out = reshapeRaw(t, shape);
  recordOp('Squeeze', [t], [out], null, null);
  return out;
}

/**
 * Joins tensors along an existing axis. All inputs must have the same rank
 * and the same dimensions except along `axis`; the result has the promoted dtype.
 *
 * @param tensors a non-empty array of tensor-likes
 * @param axis the axis to join along (negatives from the end; default 0)
 * @returns the joined tensor
 * @throws {TypeError}  when `tensors` is not a non-empty array or `axis` not an integer
 * @throws {RangeError} when ranks or dimensions disagree or `axis` is out of range
 * @example
 * nk.concat([nk.zeros([2, 3]), nk.ones([2, 1])], 1).shape; // [2, 4]
 */
export function concat(tensors: readonly TensorLike[], axis = 0): Tensor {
  const api = 'concat';
  if (!Array.isArray(tensors) || tensors.length === 0) throw typeError(api, 'tensors as a non-empty array', tensors);
  const ts = tensors.map((x, i) => toTensor(x, api, `tensors[${i}]`));
  if (typeof axis !== 'number' || !Number.isInteger(axis)) throw typeError(api, 'axis as an integer', axis);
  const first = ts[0];
  const rank = first.rank;
  if (rank === 0) throw rangeError(api, 'tensors of rank >= 1', 'scalars', true);
  if (axis < -rank || axis >= rank) throw rangeError(api, `axis in [${-rank}, ${rank - 1}] for tensors of rank ${rank}`, axis);
  const ax = axis < 0 ? axis + rank : axis;
  ts.forEach((t, i) => {
    if (t.rank !== rank || t.shape.some((d, k) => k !== ax && d !== first.shape[k])) {
      throw new NormkitRangeError(
        `${api}: expected tensors[${i}] to match shape ${shapeText(first.shape)} except on axis ${ax}, got ${describe(t)}`,
        'ERR_NORMKIT_SHAPE_MISMATCH',
      );
    }
  });
  const dtype = ts.map((t) => t.dtype).reduce(promote);
  const shape = first.shape.slice();
  shape[ax] = ts.reduce((s, t) => s + t.shape[ax], 0);
  let outer = 1;
  for (let d = 0; d < ax; d++) outer *= shape[d];
  let inner = 1;
  for (let d = ax + 1; d < rank; d++) inner *= shape[d];
  const rowLength = shape[ax] * inner;
  const out = allocateUninit(dtype, outer * rowLength);
  let column = 0;
  for (const t of ts) {
    const chunk = t.shape[ax] * inner;
    for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * chunk, (o + 1) * chunk), o * rowLength + column);
    column += chunk;
  }
  const result = new Tensor(out, shape);
  recordOp('Concat', ts, [result], null, { axis: ax, outer, inner } satisfies ConcatAttrs);
  return result;
}
