/**
 * The element-wise loops behind the ops in elementwise.ts and their
 * gradients: plain TypeScript, one tight loop per operation, over one
 * contiguous run of a broadcast plan (binary) or a whole buffer (unary).
 * ("Kernels" are the C++ functions in native/kernels/; these are loops.)
 * No checks and no recording: callers validate and record.
 */
import { allocate, allocateUninit, promote, type DType, type FloatArray } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { broadcastShapes, forEachRun, planStrided } from './broadcast.js';

/** Binary loops, including the comparison masks the gradients need. */
export const enum BinaryLoop {
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Maximum,
  Minimum,
  /** 1 where a >= b else 0 */
  GreaterEqual,
  /** 1 where a > b else 0 */
  Greater,
  /** 1 where a <= b else 0 */
  LessEqual,
  /** 1 where a < b else 0 */
  Less,
  /** 1 where a == b else 0 */
  Equal,
}

/** Unary loops, including helpers of the gradients. */
export const enum UnaryLoop {
  Neg,
  Square,
  Sqrt,
  Exp,
  Log,
  Abs,
  Sigmoid,
  Relu,
  Tanh,
  /** -1, 0 or 1 (0 for ±0, NaN for NaN) */
  Sign,
  /** 1 where x > 0 else 0 */
  Positive,
  /** 1 / x */
  Reciprocal,
  /** log(x) where x > 0, else 0 (the exponent gradient of pow) */
  LogOfPositive,
}

/**
 * One contiguous run of a binary op: out[o + i] = a[ai + i*as] OP b[bi + i*bs].
 * The switch sits outside the loops so each loop stays a tight, monomorphic body.
 */
function binaryRun(op: BinaryLoop, out: FloatArray, o: number, a: FloatArray, ai: number, as: number,
  b: FloatArray, bi: number, bs: number, n: number): void {
  const end = o + n;
  switch (op) {
    case BinaryLoop.Add:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] + b[bi];
      return;
    case BinaryLoop.Sub:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] - b[bi];
      return;
    case BinaryLoop.Mul:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] * b[bi];
      return;
    case BinaryLoop.Div:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] / b[bi];
      return;
    case BinaryLoop.Pow:
      for (; o < end; o++, ai += as, bi += bs) out[o] = Math.pow(a[ai], b[bi]);
      return;
    case BinaryLoop.Maximum:
      // NaN propagates (as tf.maximum and np.maximum); Math.max does that already.
      for (; o < end; o++, ai += as, bi += bs) out[o] = Math.max(a[ai], b[bi]);
      return;
    case BinaryLoop.Minimum:
      for (; o < end; o++, ai += as, bi += bs) out[o] = Math.min(a[ai], b[bi]);
      return;
    case BinaryLoop.GreaterEqual:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] >= b[bi] ? 1 : 0;
      return;
    case BinaryLoop.Greater:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] > b[bi] ? 1 : 0;
      return;
    case BinaryLoop.LessEqual:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] <= b[bi] ? 1 : 0;
      return;
    case BinaryLoop.Less:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] < b[bi] ? 1 : 0;
      return;
    case BinaryLoop.Equal:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] === b[bi] ? 1 : 0;
      return;
  }
}

/** Binary op without recording; shapes must broadcast (checked by the caller). */
function binaryLoop(op: BinaryLoop, a: Tensor, b: Tensor, shape: readonly number[], dtype: DType): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  const out = allocateUninit(dtype, size);
  if (size === 0) return new Tensor(out, shape);
  const plan = planStrided(shape, [shape, a.shape, b.shape]);
  const last = plan.shape.length - 1;
  const as = plan.strides[1][last];
  const bs = plan.strides[2][last];
  const ad = a.data;
  const bd = b.data;
  forEachRun(plan, (off, n) => binaryRun(op, out, off[0], ad, off[1], as, bd, off[2], bs, n));
  return new Tensor(out, shape);
}

/** Broadcasting binary op on two tensors, result in the promoted dtype (no recording). */
export function binary(op: BinaryLoop, a: Tensor, b: Tensor, api = 'binary'): Tensor {
  return binaryLoop(op, a, b, broadcastShapes(a.shape, b.shape, api), promote(a.dtype, b.dtype));
}

/**
 * A unary op over every element of `x`, in x's dtype; no recording.
 * @param op which loop
 * @param x input
 * @returns a new tensor of x's shape
 * @example
 * unaryLoop(UnaryLoop.Neg, dy);
 */
export function unaryLoop(op: UnaryLoop, x: Tensor): Tensor {
  const a = x.data;
  const n = a.length;
  const out = allocateUninit(x.dtype, n);
  switch (op) {
    case UnaryLoop.Neg:
      for (let i = 0; i < n; i++) out[i] = -a[i];
      break;
    case UnaryLoop.Square:
      for (let i = 0; i < n; i++) out[i] = a[i] * a[i];
      break;
    case UnaryLoop.Sqrt:
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(a[i]);
      break;
    case UnaryLoop.Exp:
      for (let i = 0; i < n; i++) out[i] = Math.exp(a[i]);
      break;
    case UnaryLoop.Log:
      for (let i = 0; i < n; i++) out[i] = Math.log(a[i]);
      break;
    case UnaryLoop.Abs:
      for (let i = 0; i < n; i++) out[i] = Math.abs(a[i]);
      break;
    case UnaryLoop.Sigmoid:
      // Split by sign so exp never overflows: for v < 0 use e^v / (1 + e^v).
      for (let i = 0; i < n; i++) {
        const v = a[i];
        if (v >= 0) {
          out[i] = 1 / (1 + Math.exp(-v));
        } else {
          const e = Math.exp(v);
          out[i] = e / (1 + e);
        }
      }
      break;
    case UnaryLoop.Relu:
      // NaN propagates; -0 and negatives give +0.
      for (let i = 0; i < n; i++) {
        const v = a[i];
        out[i] = v > 0 ? v : v !== v ? v : 0;
      }
      break;
    case UnaryLoop.Tanh:
      for (let i = 0; i < n; i++) out[i] = Math.tanh(a[i]);
      break;
    case UnaryLoop.Sign:
      for (let i = 0; i < n; i++) {
        const v = a[i];
        out[i] = v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : v;
      }
      break;
    case UnaryLoop.Positive:
      for (let i = 0; i < n; i++) out[i] = a[i] > 0 ? 1 : 0;
      break;
    case UnaryLoop.Reciprocal:
      for (let i = 0; i < n; i++) out[i] = 1 / a[i];
      break;
    case UnaryLoop.LogOfPositive:
      for (let i = 0; i < n; i++) {
        const v = a[i];
        out[i] = v > 0 ? Math.log(v) : 0;
      }
      break;
  }
  return new Tensor(out, x.shape);
}

/** A scalar tensor of `value` in the dtype of `like`. */
export function scalarLike(value: number, like: Tensor): Tensor {
  const d = allocate(like.dtype, 1);
  d[0] = value;
  return new Tensor(d, []);
}
