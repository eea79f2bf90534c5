/**
 * Element-wise math: binary ops with NumPy broadcasting and unary ops, each
 * differentiable (recorded on active gradient tapes).
 *
 * Binary ops accept any {@link TensorLike} on either side. A plain number or
 * nested array takes the dtype of the other operand when that one is a
 * tensor (so `mul(x32, 2)` stays float32); float32 with float64 gives
 * float64, as NumPy promotes. Gradients come back in each input's dtype,
 * summed over the dimensions that input was broadcast along; they live in
 * lib/gradients/elementwise_grad.ts, the loops in ./loops.ts.
 */
import { recordOp } from '../autodiff/tape.js';
import { isTensorSource, Tensor, toTensor, type TensorLike } from '../core/tensor.js';
import { binary, BinaryLoop, unaryLoop, UnaryLoop } from './loops.js';

/** Converts `x` to a tensor; when `other` is a tensor (or variable) numbers and arrays take its dtype. */
function operand(x: TensorLike, other: TensorLike, api: string, param: string): Tensor {
  if (x instanceof Tensor || isTensorSource(x)) return toTensor(x, api, param);
  const otherDtype = other instanceof Tensor ? other.dtype : isTensorSource(other) ? other.read().dtype : undefined;
  return toTensor(x, api, param, otherDtype);
}

function binaryOp(api: string, opName: string, loop: BinaryLoop, x: TensorLike, y: TensorLike): Tensor {
  const a = operand(x, y, api, 'a');
  const b = operand(y, x, api, 'b');
  const out = binary(loop, a, b, api);
  recordOp(opName, [a, b], [out], null, null);
  return out;
}

function unaryOp(api: string, opName: string, loop: UnaryLoop, x: TensorLike): Tensor {
  const t = toTensor(x, api, 'x');
  const out = unaryLoop(loop, t);
  recordOp(opName, [t], [out], null, null);
  return out;
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
  return binaryOp('add', 'Add', BinaryLoop.Add, a, b);
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
  return binaryOp('sub', 'Sub', BinaryLoop.Sub, a, b);
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
  return binaryOp('mul', 'Mul', BinaryLoop.Mul, a, b);
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
  return binaryOp('div', 'Div', BinaryLoop.Div, a, b);
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
  return binaryOp('pow', 'Pow', BinaryLoop.Pow, a, b);
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
  return binaryOp('maximum', 'Maximum', BinaryLoop.Maximum, a, b);
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
  return binaryOp('minimum', 'Minimum', BinaryLoop.Minimum, a, b);
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
  return unaryOp('neg', 'Neg', UnaryLoop.Neg, x);
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
  return unaryOp('square', 'Square', UnaryLoop.Square, x);
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
  return unaryOp('sqrt', 'Sqrt', UnaryLoop.Sqrt, x);
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
  return unaryOp('exp', 'Exp', UnaryLoop.Exp, x);
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
  return unaryOp('log', 'Log', UnaryLoop.Log, x);
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
  return unaryOp('abs', 'Abs', UnaryLoop.Abs, x);
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
  return unaryOp('sigmoid', 'Sigmoid', UnaryLoop.Sigmoid, x);
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
  return unaryOp('relu', 'Relu', UnaryLoop.Relu, x);
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
  return unaryOp('tanh', 'Tanh', UnaryLoop.Tanh, x);
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
  return binary(BinaryLoop.Equal, operand(a, b, 'equal', 'a'), operand(b, a, 'equal', 'b'), 'equal');
}
