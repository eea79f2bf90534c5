/**
 * Element-wise math: binary ops with NumPy broadcasting and unary ops, each
 * differentiable (recorded on active gradient tapes).
 *
 * Binary ops accept any {@link TensorLike} on either side. A plain number or
 * nested array takes the dtype of the other operand when that one is a
 * tensor (so `mul(x32, 2)` stays float32); float32 with float64 gives
 * float64, as NumPy promotes. Gradients come back in each input's dtype,
 * summed over the dimensions that input was broadcast along.
 */
import { allocate, promote, type DType, type FloatArray } from '../core/dtype.js';
import { recordOp } from '../autodiff/tape.js';
import { Tensor, toTensor, type TensorLike, type TensorSource } from '../core/tensor.js';
import { broadcastShapes, forEachRun, planStrided, sumToShape } from './broadcast.js';

/** Binary kernels, including the comparison masks the gradients need. */
const enum Binary {
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

/** Unary kernels, including helpers of the gradients. */
const enum Unary {
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
function binaryRun(op: Binary, out: FloatArray, o: number, a: FloatArray, ai: number, as: number,
  b: FloatArray, bi: number, bs: number, n: number): void {
  const end = o + n;
  switch (op) {
    case Binary.Add:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] + b[bi];
      return;
    case Binary.Sub:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] - b[bi];
      return;
    case Binary.Mul:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] * b[bi];
      return;
    case Binary.Div:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] / b[bi];
      return;
    case Binary.Pow:
      for (; o < end; o++, ai += as, bi += bs) out[o] = Math.pow(a[ai], b[bi]);
      return;
    case Binary.Maximum:
      // NaN propagates (as tf.maximum and np.maximum); Math.max does that already.
      for (; o < end; o++, ai += as, bi += bs) out[o] = Math.max(a[ai], b[bi]);
      return;
    case Binary.Minimum:
      for (; o < end; o++, ai += as, bi += bs) out[o] = Math.min(a[ai], b[bi]);
      return;
    case Binary.GreaterEqual:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] >= b[bi] ? 1 : 0;
      return;
    case Binary.Greater:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] > b[bi] ? 1 : 0;
      return;
    case Binary.LessEqual:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] <= b[bi] ? 1 : 0;
      return;
    case Binary.Less:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] < b[bi] ? 1 : 0;
      return;
    case Binary.Equal:
      for (; o < end; o++, ai += as, bi += bs) out[o] = a[ai] === b[bi] ? 1 : 0;
      return;
  }
}

/** Binary op without recording; shapes must broadcast (checked by the caller). */
function binaryRaw(op: Binary, a: Tensor, b: Tensor, shape: readonly number[], dtype: DType): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  const out = allocate(dtype, size);
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
function binary(op: Binary, a: Tensor, b: Tensor, api = 'binary'): Tensor {
  return binaryRaw(op, a, b, broadcastShapes(a.shape, b.shape, api), promote(a.dtype, b.dtype));
}

function unaryRaw(op: Unary, x: Tensor): Tensor {
  const a = x.data;
  const n = a.length;
  const out = allocate(x.dtype, n);
  switch (op) {
    case Unary.Neg:
      for (let i = 0; i < n; i++) out[i] = -a[i];
      break;
    case Unary.Square:
      for (let i = 0; i < n; i++) out[i] = a[i] * a[i];
      break;
    case Unary.Sqrt:
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(a[i]);
      break;
    case Unary.Exp:
      for (let i = 0; i < n; i++) out[i] = Math.exp(a[i]);
      break;
    case Unary.Log:
      for (let i = 0; i < n; i++) out[i] = Math.log(a[i]);
      break;
    case Unary.Abs:
      for (let i = 0; i < n; i++) out[i] = Math.abs(a[i]);
      break;
    case Unary.Sigmoid:
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
    case Unary.Relu:
      // NaN propagates; -0 and negatives give +0.
      for (let i = 0; i < n; i++) {
        const v = a[i];
        out[i] = v > 0 ? v : v !== v ? v : 0;
      }
      break;
    case Unary.Tanh:
      for (let i = 0; i < n; i++) out[i] = Math.tanh(a[i]);
      break;
    case Unary.Sign:
      for (let i = 0; i < n; i++) {
        const v = a[i];
        out[i] = v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : v;
      }
      break;
    case Unary.Positive:
      for (let i = 0; i < n; i++) out[i] = a[i] > 0 ? 1 : 0;
      break;
    case Unary.Reciprocal:
      for (let i = 0; i < n; i++) out[i] = 1 / a[i];
      break;
    case Unary.LogOfPositive:
      for (let i = 0; i < n; i++) {
        const v = a[i];
        out[i] = v > 0 ? Math.log(v) : 0;
      }
      break;
  }
  return new Tensor(out, x.shape);
}

/** Converts `x` to a tensor; when `other` is a tensor (or variable) numbers and arrays take its dtype. */
function operand(x: TensorLike, other: TensorLike, api: string, param: string): Tensor {
  if (x instanceof Tensor || isSource(x)) return toTensor(x, api, param);
  const otherDtype = other instanceof Tensor ? other.dtype : isSource(other) ? other.read().dtype : undefined;
  return toTensor(x, api, param, otherDtype);
}

function isSource(x: unknown): x is TensorSource {
  return typeof x === 'object' && x !== null && !(x instanceof Tensor) && typeof (x as TensorSource).read === 'function';
}

/** Gradient of one operand: summed back over broadcast dimensions, in the operand's dtype. */
function reduceGrad(g: Tensor, input: Tensor): Tensor {
  return sumToShape(g, input.shape, input.dtype);
}

type BinaryGrad = (dy: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null];

function binaryOp(api: string, opName: string, op: Binary, x: TensorLike, y: TensorLike, grad: BinaryGrad): Tensor {
  const a = operand(x, y, api, 'a');
  const b = operand(y, x, api, 'b');
  const out = binary(op, a, b, api);
  recordOp(opName, [a, b], [out], ([dy]) => {
    if (dy === null) return [null, null];
    const [da, db] = grad(dy, a, b, out);
    return [da === null ? null : reduceGrad(da, a), db === null ? null : reduceGrad(db, b)];
  });
  return out;
}

function unaryOp(api: string, opName: string, op: Unary, x: TensorLike, grad: (dy: Tensor, x: Tensor, out: Tensor) => Tensor): Tensor {
  const t = toTensor(x, api, 'x');
  const out = unaryRaw(op, t);
  recordOp(opName, [t], [out], ([dy]) => [dy === null ? null : castRaw(grad(dy, t, out), t.dtype)]);
  return out;
}

/** Same values in `dtype` (no copy when already there). */
function castRaw(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  const out = allocate(dtype, t.size);
  out.set(t.data);
  return new Tensor(out, t.shape);
}

/**
 * Element-wise `a + b` with broadcasting.
 *
 * @param a tensor, variable, number or nested array
 * @param b tensor, variable, number or nested array
 * @returns a tensor of the broadcast shape and the promoted dtype
 * @throws {TypeError}  when an operand is not tensor-like
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when the shapes do not broadcast
 * @example
 * nk.add(nk.tensor([[1, 2], [3, 4]]), [10, 20]); // [[11, 22], [13, 24]]
 */
export function add(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('add', 'Add', Binary.Add, a, b, (dy) => [dy, dy]);
}

/**
 * Element-wise `a - b` with broadcasting.
 *
 * @param a tensor, variable, number or nested array
 * @param b tensor, variable, number or nested array
 * @returns a tensor of the broadcast shape and the promoted dtype
 * @throws {TypeError}  when an operand is not tensor-like
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when the shapes do not broadcast
 * @example
 * nk.sub(nk.mean(nk.square(y)), 1); // the tutorial's loss
 */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('sub', 'Sub', Binary.Sub, a, b, (dy) => [dy, unaryRaw(Unary.Neg, dy)]);
}

/**
 * Element-wise `a * b` with broadcasting.
 *
 * @param a tensor, variable, number or nested array
 * @param b tensor, variable, number or nested array
 * @returns a tensor of the broadcast shape and the promoted dtype
 * @throws {TypeError}  when an operand is not tensor-like
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when the shapes do not broadcast
 * @example
 * nk.mul(nk.tensor([1, 2, 3]), 2); // [2, 4, 6], float32
 */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('mul', 'Mul', Binary.Mul, a, b, (dy, x, y) => [binary(Binary.Mul, dy, y), binary(Binary.Mul, dy, x)]);
}

/**
 * Element-wise `a / b` with broadcasting (IEEE semantics: x/0 is ±Infinity or NaN).
 *
 * @param a tensor, variable, number or nested array
 * @param b tensor, variable, number or nested array
 * @returns a tensor of the broadcast shape and the promoted dtype
 * @throws {TypeError}  when an operand is not tensor-like
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when the shapes do not broadcast
 * @example
 * nk.div(nk.tensor([1, 2]), 4); // [0.25, 0.5]
 */
export function div(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('div', 'Div', Binary.Div, a, b, (dy, _x, y, out) => {
    const dx = binary(Binary.Div, dy, y);
    // d(a/b)/db = -a/b^2 = -(a/b)/b
    const dyb = unaryRaw(Unary.Neg, binary(Binary.Div, binary(Binary.Mul, dy, out), y));
    return [dx, dyb];
  });
}

/**
 * Element-wise `a ** b` with broadcasting (`Math.pow` semantics).
 *
 * The gradient with respect to the exponent uses log(a), taken as 0 where
 * a <= 0 (as TensorFlow), so integer powers of negative bases stay finite.
 *
 * @param a base: tensor, variable, number or nested array
 * @param b exponent: tensor, variable, number or nested array
 * @returns a tensor of the broadcast shape and the promoted dtype
 * @throws {TypeError}  when an operand is not tensor-like
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when the shapes do not broadcast
 * @example
 * nk.pow(nk.tensor([1, 2, 3]), 2); // [1, 4, 9]
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('pow', 'Pow', Binary.Pow, a, b, (dy, x, y, out) => {
    // d/da = b * a^(b-1)
    const bMinus1 = binary(Binary.Sub, y, scalarLike(1, y));
    const dx = binary(Binary.Mul, dy, binary(Binary.Mul, y, binary(Binary.Pow, x, bMinus1)));
    // d/db = a^b * log(a) where a > 0, else 0
    const dyb = binary(Binary.Mul, dy, binary(Binary.Mul, out, unaryRaw(Unary.LogOfPositive, x)));
    return [dx, dyb];
  });
}

/**
 * Element-wise maximum with broadcasting; NaN propagates. Where a == b the
 * gradient goes to `a` (as TensorFlow).
 *
 * @param a tensor, variable, number or nested array
 * @param b tensor, variable, number or nested array
 * @returns a tensor of the broadcast shape and the promoted dtype
 * @throws {TypeError}  when an operand is not tensor-like
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when the shapes do not broadcast
 * @example
 * nk.maximum(nk.tensor([-1, 2]), 0); // [0, 2]
 */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('maximum', 'Maximum', Binary.Maximum, a, b, (dy, x, y) => [
    binary(Binary.Mul, dy, binary(Binary.GreaterEqual, x, y)),
    binary(Binary.Mul, dy, binary(Binary.Less, x, y)),
  ]);
}

/**
 * Element-wise minimum with broadcasting; NaN propagates. Where a == b the
 * gradient goes to `a` (as TensorFlow).
 *
 * @param a tensor, variable, number or nested array
 * @param b tensor, variable, number or nested array
 * @returns a tensor of the broadcast shape and the promoted dtype
 * @throws {TypeError}  when an operand is not tensor-like
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when the shapes do not broadcast
 * @example
 * nk.minimum(nk.tensor([-1, 2]), 0); // [-1, 0]
 */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('minimum', 'Minimum', Binary.Minimum, a, b, (dy, x, y) => [
    binary(Binary.Mul, dy, binary(Binary.LessEqual, x, y)),
    binary(Binary.Mul, dy, binary(Binary.Greater, x, y)),
  ]);
}

/** A scalar tensor of `value` in the dtype of `like`. */
function scalarLike(value: number, like: Tensor): Tensor {
  const d = allocate(like.dtype, 1);
  d[0] = value;
  return new Tensor(d, []);
}

/**
 * Element-wise negation.
 *
 * @param x tensor, variable, number or nested array
 * @returns `-x`
 * @throws {TypeError} when `x` is not tensor-like
 * @example
 * nk.neg(nk.tensor([1, -2])); // [-1, 2]
 */
export function neg(x: TensorLike): Tensor {
  return unaryOp('neg', 'Neg', Unary.Neg, x, (dy) => unaryRaw(Unary.Neg, dy));
}

/**
 * Element-wise square.
 *
 * @param x tensor, variable, number or nested array
 * @returns `x * x`
 * @throws {TypeError} when `x` is not tensor-like
 * @example
 * nk.square(nk.tensor([1, -2])); // [1, 4]
 */
export function square(x: TensorLike): Tensor {
  return unaryOp('square', 'Square', Unary.Square, x, (dy, t) => binary(Binary.Mul, dy, binary(Binary.Mul, t, scalarLike(2, t))));
}

/**
 * Element-wise square root (NaN for negative values).
 *
 * @param x tensor, variable, number or nested array
 * @returns `sqrt(x)`
 * @throws {TypeError} when `x` is not tensor-like
 * @example
 * nk.sqrt(nk.tensor([4, 9])); // [2, 3]
 */
export function sqrt(x: TensorLike): Tensor {
  return unaryOp('sqrt', 'Sqrt', Unary.Sqrt, x, (dy, _t, out) => binary(Binary.Div, dy, binary(Binary.Mul, out, scalarLike(2, out))));
}

/**
 * Element-wise natural exponential.
 *
 * @param x tensor, variable, number or nested array
 * @returns `e^x`
 * @throws {TypeError} when `x` is not tensor-like
 * @example
 * nk.exp(nk.tensor([0])); // [1]
 */
export function exp(x: TensorLike): Tensor {
  return unaryOp('exp', 'Exp', Unary.Exp, x, (dy, _t, out) => binary(Binary.Mul, dy, out));
}

/**
 * Element-wise natural logarithm (-Infinity at 0, NaN for negative values).
 *
 * @param x tensor, variable, number or nested array
 * @returns `ln(x)`
 * @throws {TypeError} when `x` is not tensor-like
 * @example
 * nk.log(nk.tensor([1, Math.E])); // [0, 1]
 */
export function log(x: TensorLike): Tensor {
  return unaryOp('log', 'Log', Unary.Log, x, (dy, t) => binary(Binary.Mul, dy, unaryRaw(Unary.Reciprocal, t)));
}

/**
 * Element-wise absolute value. The gradient at 0 is 0 (sign(0), as TensorFlow).
 *
 * @param x tensor, variable, number or nested array
 * @returns `|x|`
 * @throws {TypeError} when `x` is not tensor-like
 * @example
 * nk.abs(nk.tensor([-1, 2])); // [1, 2]
 */
export function abs(x: TensorLike): Tensor {
  return unaryOp('abs', 'Abs', Unary.Abs, x, (dy, t) => binary(Binary.Mul, dy, unaryRaw(Unary.Sign, t)));
}

/**
 * Element-wise logistic sigmoid `1 / (1 + e^-x)`, computed without overflow.
 *
 * @param x tensor, variable, number or nested array
 * @returns values in [0, 1]
 * @throws {TypeError} when `x` is not tensor-like
 * @example
 * nk.sigmoid(nk.tensor([0])); // [0.5]
 */
export function sigmoid(x: TensorLike): Tensor {
  return unaryOp('sigmoid', 'Sigmoid', Unary.Sigmoid, x, (dy, _t, out) =>
    binary(Binary.Mul, dy, binary(Binary.Mul, out, binary(Binary.Sub, scalarLike(1, out), out))));
}

/**
 * Element-wise rectified linear unit `max(x, 0)`. The gradient at 0 is 0 (as TensorFlow).
 *
 * @param x tensor, variable, number or nested array
 * @returns `max(x, 0)`
 * @throws {TypeError} when `x` is not tensor-like
 * @example
 * nk.relu(nk.tensor([-1, 2])); // [0, 2]
 */
export function relu(x: TensorLike): Tensor {
  return unaryOp('relu', 'Relu', Unary.Relu, x, (dy, t) => binary(Binary.Mul, dy, unaryRaw(Unary.Positive, t)));
}

/**
 * Element-wise hyperbolic tangent.
 *
 * @param x tensor, variable, number or nested array
 * @returns values in [-1, 1]
 * @throws {TypeError} when `x` is not tensor-like
 * @example
 * nk.tanh(nk.tensor([0])); // [0]
 */
export function tanh(x: TensorLike): Tensor {
  return unaryOp('tanh', 'Tanh', Unary.Tanh, x, (dy, _t, out) =>
    binary(Binary.Mul, dy, binary(Binary.Sub, scalarLike(1, out), binary(Binary.Mul, out, out))));
}

/**
 * Element-wise equality mask (1 where equal, else 0) in the promoted dtype,
 * with broadcasting. Not differentiable (records nothing); used by the
 * gradients of max/min reductions.
 *
 * @param a tensor, variable, number or nested array
 * @param b tensor, variable, number or nested array
 * @returns a 0/1 tensor of the broadcast shape
 * @throws {TypeError}  when an operand is not tensor-like
 * @throws {RangeError} (code ERR_NORMKIT_SHAPE_MISMATCH) when the shapes do not broadcast
 * @example
 * nk.equal(nk.tensor([1, 2]), 2); // [0, 1]
 */
export function equal(a: TensorLike, b: TensorLike): Tensor {
  return binary(Binary.Equal, operand(a, b, 'equal', 'a'), operand(b, a, 'equal', 'b'), 'equal');
}
