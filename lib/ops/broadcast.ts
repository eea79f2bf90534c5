/**
 * NumPy broadcasting: the result shape of two operands, the strided walk
 * that visits a broadcast result in contiguous runs, and the reverse
 * operation every broadcasting op's gradient needs (sum back to a shape).
 */
import { allocate, allocateUninit, convertData, type DType } from '../core/dtype.js';
import { rangeError } from '../core/errors.js';
import { recordOp } from '../autodiff/tape.js';
import { shapeText, Tensor, toTensor, type TensorLike } from '../core/tensor.js';

/**
 * The shape two operands broadcast to under NumPy's rules: shapes are
 * aligned at their last dimension, and each pair of dimensions must be equal
 * or contain a 1 (the 1 stretches; a missing leading dimension counts as 1).
 *
 * @param a shape of the first operand
 * @param b shape of the second operand
 * @param api name of the calling op, for the error message
 * @returns the broadcast shape
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when the shapes are incompatible
 * @example
 * broadcastShapes([2, 1, 3], [4, 1], 'add'); // [2, 4, 3]
 * broadcastShapes([2, 3], [4], 'add');       // RangeError: add: expected broadcastable shapes, got [2,3] and [4]
 */
export function broadcastShapes(a: readonly number[], b: readonly number[], api: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 1; i <= rank; i++) {
    const da = i <= a.length ? a[a.length - i] : 1;
    const db = i <= b.length ? b[b.length - i] : 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw rangeError(api, 'broadcastable shapes', `${shapeText(a)} and ${shapeText(b)}`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
    out[rank - i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Element strides of `shape` (row-major) when it is broadcast to `target`:
 * stretched and missing dimensions get stride 0.
 * @param shape the operand's shape (assumed to broadcast to `target`)
 * @param target the broadcast shape
 * @returns one stride per dimension of `target`
 * @example
 * broadcastStrides([3, 1], [2, 3, 4]); // [0, 1, 0]
 */
export function broadcastStrides(shape: readonly number[], target: readonly number[]): number[] {
  const strides = new Array<number>(target.length).fill(0);
  let s = 1;
  for (let i = 1; i <= shape.length; i++) {
    const d = shape[shape.length - i];
    strides[target.length - i] = d === 1 ? 0 : s;
    s *= d;
  }
  return strides;
}

/**
 * A broadcast iteration space reduced to as few dimensions as possible:
 * size-1 dimensions are dropped and neighbours that every operand walks
 * contiguously are merged. Same-shape operands collapse to one run; a scalar
 * operand becomes a single run with stride 0.
 */
export interface StridedPlan {
  /** Dimensions of the collapsed space (at least one). */
  shape: number[];
  /** For each operand, its stride along each collapsed dimension. */
  strides: number[][];
}

/**
 * Builds the collapsed walk of `target` for operands of the given shapes
 * (each broadcastable to `target`). The output itself, when it is one of the
 * operands, is passed with shape `target`.
 * @param target the iteration shape
 * @param operandShapes shapes of the operands, each broadcastable to `target`
 * @returns the collapsed plan
 * @example
 * planStrided([2, 3, 4], [[2, 3, 4], []]); // { shape: [24], strides: [[1], [0]] }
 */
export function planStrided(target: readonly number[], operandShapes: readonly (readonly number[])[]): StridedPlan {
  return collapsePlan(target, operandShapes.map((s) => broadcastStrides(s, target)));
}

/**
 * Collapses a walk of `shape` where operand k moves by `strides[k][d]`
 * along dimension d: drops size-1 dimensions and merges a dimension into the
 * previous one when every operand steps through both as one contiguous run.
 * @param shape the iteration shape
 * @param operandStrides per operand, its stride along each dimension of `shape`
 * @returns the collapsed plan (at least one dimension)
 * @example
 * collapsePlan([2, 3], [[3, 1], [1, 2]]); // transposed read: stays { shape: [2, 3], strides: [[3, 1], [1, 2]] }
 */
export function collapsePlan(shape: readonly number[], operandStrides: readonly (readonly number[])[]): StridedPlan {
  const outShape: number[] = [];
  const strides: number[][] = operandStrides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d];
    if (n === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && operandStrides.every((st, k) => strides[k][last] === st[d] * n);
    if (mergeable) {
      outShape[last] *= n;
      operandStrides.forEach((st, k) => {
        strides[k][last] = st[d];
      });
    } else {
      outShape.push(n);
      operandStrides.forEach((st, k) => strides[k].push(st[d]));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    strides.forEach((s) => s.push(0));
  }
  return { shape: outShape, strides };
}

/**
 * Walks a collapsed plan: calls `run(offsets, n)` once per contiguous run of
 * the innermost dimension, with each operand's starting offset (the same
 * array, updated in place) and the run length. The operand strides along the
 * run are `plan.strides[k][plan.shape.length - 1]`.
 * @param plan from {@link planStrided} or {@link collapsePlan}
 * @param run called per run; must not keep `offsets`
 * @example
 * forEachRun(planStrided([2, 3], [[2, 3], [3]]), (off, n) => console.log(off[0], off[1], n)); // 0 0 3, then 3 0 3
 */
export function forEachRun(plan: StridedPlan, run: (offsets: number[], n: number) => void): void {
  const { shape, strides } = plan;
  const rank = shape.length;
  const inner = shape[rank - 1];
  const operands = strides.length;
  const offsets = new Array<number>(operands).fill(0);
  if (shape.some((d) => d === 0)) return;
  const index = new Array<number>(rank).fill(0);
  for (;;) {
    run(offsets, inner);
    let d = rank - 2;
    while (d >= 0) {
      index[d]++;
      for (let k = 0; k < operands; k++) offsets[k] += strides[k][d];
      if (index[d] < shape[d]) break;
      for (let k = 0; k < operands; k++) offsets[k] -= strides[k][d] * shape[d];
      index[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}

/**
 * Copies `x` broadcast to `shape`, without checks or recording (for gradients and internal use).
 * @param x source; its shape must broadcast to `shape`
 * @param shape target shape
 * @param dtype dtype of the copy (default: the dtype of `x`)
 * @returns a new contiguous tensor
 * @example
 * broadcastRaw(tensor([1, 2]), [2, 2]).toArray(); // [[1, 2], [1, 2]]
 */
export function broadcastRaw(x: Tensor, shape: readonly number[], dtype: DType = x.dtype): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  const out = allocateUninit(dtype, size);
  const src = x.data;
  if (x.size === size) {
    out.set(src);
    return new Tensor(out, shape);
  }
  const plan = planStrided(shape, [shape, x.shape]);
  const sx = plan.strides[1][plan.shape.length - 1];
  forEachRun(plan, (off, n) => {
    let j = off[1];
    const o = off[0];
    for (let i = 0; i < n; i++, j += sx) out[o + i] = src[j];
  });
  return new Tensor(out, shape);
}

/**
 * Sums `x` down to `shape` (which broadcasts to `x.shape`): the adjoint of
 * broadcasting, used by every broadcasting op's gradient. Accumulates in
 * float64 and stores in `dtype` (default: the dtype of `x`). No checks, no recording.
 * @param x the broadcast-shaped values (typically an upstream gradient)
 * @param shape the operand shape to sum down to
 * @param dtype dtype of the result
 * @returns a new tensor of `shape`
 * @example
 * sumToShape(tensor([[1, 2], [3, 4]]), [2]).toArray(); // [4, 6]
 */
export function sumToShape(x: Tensor, shape: readonly number[], dtype: DType = x.dtype): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  if (size === x.size && (dtype === x.dtype || x.size === 0)) {
    return new Tensor(dtype === x.dtype ? x.data.slice() : allocate(dtype, size), shape);
  }
  const acc = new Float64Array(size);
  const src = x.data;
  const plan = planStrided(x.shape, [x.shape, shape]);
  const sAcc = plan.strides[1][plan.shape.length - 1];
  forEachRun(plan, (off, n) => {
    let j = off[0];
    const k = off[1];
    if (sAcc === 0) {
      let s = 0;
      for (let i = 0; i < n; i++) s += src[j + i];
      acc[k] += s;
    } else {
      for (let i = 0; i < n; i++, j++) acc[k + i] += src[j];
    }
  });
  return new Tensor(convertData(acc, dtype), shape);
}

/**
 * Broadcasts `x` to `shape` (NumPy rules; `x` may only stretch size-1 or
 * missing leading dimensions). Differentiable: the gradient is summed back.
 *
 * @param x a tensor, variable, or anything {@link tensor} accepts
 * @param shape the target shape
 * @returns a new tensor of `shape` and the dtype of `x`
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when `x` cannot broadcast to `shape`
 * @example
 * nk.broadcastTo(nk.tensor([1, 2, 3]), [2, 3]); // [[1, 2, 3], [1, 2, 3]]
 */
export function broadcastTo(x: TensorLike, shape: readonly number[]): Tensor {
  const api = 'broadcastTo';
  const t = toTensor(x, api, 'x');
  const target = Array.isArray(shape) ? shape : null;
  if (target === null || target.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw rangeError(api, 'shape as an array of non-negative integers', shape);
  }
  const offset = target.length - t.rank;
  if (offset < 0 || t.shape.some((d, i) => d !== 1 && d !== target[offset + i])) {
    throw rangeError(api, `a shape that ${shapeText(t.shape)} broadcasts to`, shapeText(target), true, 'ERR_NORMKIT_SHAPE_MISMATCH');
  }
  const out = broadcastRaw(t, target);
  recordOp('BroadcastTo', [t], [out], null, null);
  return out;
}
