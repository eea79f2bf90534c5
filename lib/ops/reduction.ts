/**
 * Reductions over axes: sum, mean, max, min. Each takes `axis` as a number,
 * an array of numbers (negatives count from the end; `[]` reduces nothing)
 * or undefined (every axis), and `keepDims` to keep reduced axes as size 1.
 * All are differentiable (gradients in lib/gradients/reduction_grad.ts).
 */
import { convertData, type DType } from '../core/dtype.js';
import { rangeError } from '../core/errors.js';
import { boolean, reductionAxes } from '../core/validate.js';
import { recordOp } from '../autodiff/tape.js';
import { shapeText, Tensor, toTensor, type TensorLike } from '../core/tensor.js';
import { forEachRun, planStrided, sumToShape } from './broadcast.js';

/** Shape of `shape` with `axes` set to 1 (the keepDims shape) and the reduced element count. */
function keptShape(shape: readonly number[], axes: readonly number[]): { kept: number[]; count: number } {
  let count = 1;
  const kept = shape.map((d, i) => {
    if (!axes.includes(i)) return d;
    count *= d;
    return 1;
  });
  return { kept, count };
}

function resultShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** What a reduction records for its gradient (lib/gradients/reduction_grad.ts). */
export interface ReductionAttrs {
  /** The input's shape with the reduced axes set to 1. */
  kept: number[];
  /** Elements reduced into each output value. */
  count: number;
}

interface Prepared {
  x: Tensor;
  axes: number[];
  kept: number[];
  count: number;
  outShape: number[];
}

function prepare(api: string, x: TensorLike, axis: number | readonly number[] | undefined, keepDims: unknown): Prepared {
  const t = toTensor(x, api, 'x');
  const axes = reductionAxes(api, 'axis', axis, t.rank);
  const keep = keepDims === undefined ? false : boolean(api, 'keepDims', keepDims);
  const { kept, count } = keptShape(t.shape, axes);
  return { x: t, axes, kept, count, outShape: resultShape(t.shape, axes, keep) };
}

/** Max or min of `x` down to the `kept` shape; NaN propagates. No recording. */
function extremeRaw(x: Tensor, kept: readonly number[], isMax: boolean): Float64Array {
  const size = kept.reduce((p, d) => p * d, 1);
  const acc = new Float64Array(size).fill(isMax ? -Infinity : Infinity);
  const src = x.data;
  const plan = planStrided(x.shape, [x.shape, kept]);
  const sAcc = plan.strides[1][plan.shape.length - 1];
  forEachRun(plan, (off, n) => {
    const j = off[0];
    const k = off[1];
    if (sAcc === 0) {
      let m = acc[k];
      if (isMax) {
        for (let i = 0; i < n; i++) {
          const v = src[j + i];
          if (v > m || v !== v) m = v;
        }
      } else {
        for (let i = 0; i < n; i++) {
          const v = src[j + i];
          if (v < m || v !== v) m = v;
        }
      }
      acc[k] = m;
    } else {
      for (let i = 0; i < n; i++) {
        const v = src[j + i];
        const m = acc[k + i];
        if (m === m && (isMax ? v > m : v < m)) acc[k + i] = v;
        else if (v !== v) acc[k + i] = v;
      }
    }
  });
  return acc;
}

function store(values: Float64Array, dtype: DType, shape: readonly number[]): Tensor {
  return new Tensor(convertData(values, dtype), shape);
}

/**
 * Sum of elements over `axis` (accumulated in float64, stored in the input dtype).
 *
 * @param x tensor, variable, number or nested array
 * @param axis axis or axes to reduce (negatives from the end); all when undefined
 * @param keepDims keep reduced axes as size 1 (default false)
 * @returns the sums; a scalar when every axis is reduced without keepDims
 * @throws {TypeError}  when `x` is not tensor-like, `axis` is not integer(s), or `keepDims` not a boolean
 * @throws {RangeError} when an axis is out of range or repeated
 * @example
 * nk.sum(nk.tensor([[1, 2], [3, 4]]), 0);        // [4, 6]
 * nk.sum(nk.tensor([[1, 2], [3, 4]]), -1, true); // [[3], [7]]
 */
export function sum(x: TensorLike, axis?: number | readonly number[], keepDims?: boolean): Tensor {
  const p = prepare('sum', x, axis, keepDims);
  const s = sumToShape(p.x, p.kept);
  const out = new Tensor(s.data, p.outShape);
  recordOp('Sum', [p.x], [out], null, { kept: p.kept, count: p.count } satisfies ReductionAttrs);
  return out;
}

/**
 * Mean of elements over `axis` (sum in float64, divided once, stored in the
 * input dtype). The mean over zero elements is NaN.
 *
 * @param x tensor, variable, number or nested array
 * @param axis axis or axes to reduce (negatives from the end); all when undefined
 * @param keepDims keep reduced axes as size 1 (default false)
 * @returns the means; a scalar when every axis is reduced without keepDims
 * @throws {TypeError}  when `x` is not tensor-like, `axis` is not integer(s), or `keepDims` not a boolean
 * @throws {RangeError} when an axis is out of range or repeated
 * @example
 * nk.mean(nk.tensor([[1, 2], [3, 4]]));    // 2.5
 * nk.mean(nk.tensor([[1, 2], [3, 4]]), 1); // [1.5, 3.5]
 */
export function mean(x: TensorLike, axis?: number | readonly number[], keepDims?: boolean): Tensor {
  const p = prepare('mean', x, axis, keepDims);
  const s = sumToShape(p.x, p.kept, 'float64').data as Float64Array;
  for (let i = 0; i < s.length; i++) s[i] /= p.count;
  const out = store(s, p.x.dtype, p.outShape);
  recordOp('Mean', [p.x], [out], null, { kept: p.kept, count: p.count } satisfies ReductionAttrs);
  return out;
}

function extreme(api: string, opName: string, isMax: boolean, x: TensorLike, axis: number | readonly number[] | undefined, keepDims: boolean | undefined): Tensor {
  const p = prepare(api, x, axis, keepDims);
  const outSize = p.kept.reduce((a, d) => a * d, 1);
  if (p.count === 0 && outSize > 0) {
    throw rangeError(api, 'reduced axes with at least one element', `shape ${shapeText(p.x.shape)} reduced over [${p.axes.join(',')}]`, true);
  }
  const values = extremeRaw(p.x, p.kept, isMax);
  const out = store(values, p.x.dtype, p.outShape);
  recordOp(opName, [p.x], [out], null, { kept: p.kept, count: p.count } satisfies ReductionAttrs);
  return out;
}

/**
 * Maximum over `axis`; NaN propagates. The gradient goes to the positions of
 * the maximum, split equally among ties (as TensorFlow).
 *
 * @param x tensor, variable, number or nested array
 * @param axis axis or axes to reduce (negatives from the end); all when undefined
 * @param keepDims keep reduced axes as size 1 (default false)
 * @returns the maxima
 * @throws {TypeError}  when `x` is not tensor-like, `axis` is not integer(s), or `keepDims` not a boolean
 * @throws {RangeError} when an axis is out of range or repeated, or a reduced axis has size 0
 * @example
 * nk.max(nk.tensor([[1, 5], [3, 4]]), 0); // [3, 5]
 */
export function max(x: TensorLike, axis?: number | readonly number[], keepDims?: boolean): Tensor {
  return extreme('max', 'Max', true, x, axis, keepDims);
}

/**
 * Minimum over `axis`; NaN propagates. The gradient goes to the positions of
 * the minimum, split equally among ties (as TensorFlow).
 *
 * @param x tensor, variable, number or nested array
 * @param axis axis or axes to reduce (negatives from the end); all when undefined
 * @param keepDims keep reduced axes as size 1 (default false)
 * @returns the minima
 * @throws {TypeError}  when `x` is not tensor-like, `axis` is not integer(s), or `keepDims` not a boolean
 * @throws {RangeError} when an axis is out of range or repeated, or a reduced axis has size 0
 * @example
 * nk.min(nk.tensor([[1, 5], [3, 4]]), 1); // [1, 3]
 */
export function min(x: TensorLike, axis?: number | readonly number[], keepDims?: boolean): Tensor {
  return extreme('min', 'Min', false, x, axis, keepDims);
}
