/**
 * Conversion between the two floating dtypes.
 */
import { copyAs, isDType, type DType } from '../core/dtype.js';
import { typeError } from '../core/errors.js';
import { recordOp } from '../autodiff/tape.js';
import { Tensor, toTensor, type TensorLike } from '../core/tensor.js';

/**
 * The values of `x` in another dtype (float64 to float32 rounds to nearest).
 * Casting to the dtype `x` already has returns `x` itself, as TensorFlow
 * does. Differentiable: the gradient is cast back to the input's dtype
 * (lib/gradients/shape_grad.ts).
 *
 * @param x tensor, variable, number or nested array
 * @param dtype 'float32' or 'float64'
 * @returns a tensor of the same shape in `dtype`
 * @throws {TypeError} when `x` is not tensor-like or `dtype` is unknown
 * @example
 * nk.cast(nk.tensor([0.1]), 'float64').dtype; // 'float64' (value 0.10000000149011612)
 */
export function cast(x: TensorLike, dtype: DType): Tensor {
  const api = 'cast';
  if (!isDType(dtype)) throw typeError(api, `dtype 'float32' or 'float64'`, dtype);
  const t = toTensor(x, api, 'x');
  if (t.dtype === dtype) return t;
  const result = new Tensor(copyAs(t.data, dtype), t.shape);
  recordOp('Cast', [t], [result], null, null);
  return result;
}
