/**
 * Pieces shared by the normalization gradients (layer and group norm):
 * zeros for an empty input, and the [dx, dgamma?, dbeta?] list built from
 * the view-order dx and the float64 per-feature sums.
 */
import { allocate, copyAs, type FloatArray } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { deliver, type GradientRequest } from '../autodiff/registry.js';
import { unpermute } from '../ops/shape.js';

/**
 * Zero gradients for every needed input (an empty input has nothing to normalize).
 * @param inputs the op's inputs
 * @param request the backward's request
 * @returns one entry per input
 * @example
 * if (op.saved === null) return zeroGradients(op.inputs, request);
 */
export function zeroGradients(inputs: readonly Tensor[], request: GradientRequest): (Tensor | null)[] {
  return inputs.map((t, i) => (request.needed[i] ? deliver(new Tensor(allocate(t.dtype, t.size), t.shape), request.out?.[i]) : null));
}

/**
 * The gradients of [x, gamma?, beta?] (inputs in that order, absent ones
 * skipped): dx from the view's order back to x's, and the float64 sums of
 * gamma and beta in their dtype.
 * @param request the backward's request
 * @param x the op's input
 * @param perm the permutation the view applied, or null
 * @param dx x's gradient in the view's order
 * @param gamma gamma input or null, with its float64 gradient
 * @param beta beta input or null, with its float64 gradient
 * @returns one entry per input
 * @example
 * return affineGradients(request, x, perm, dx, gamma, dgamma, beta, dbeta);
 */
export function affineGradients(
  request: GradientRequest,
  x: Tensor,
  perm: readonly number[] | null,
  dx: FloatArray,
  gamma: Tensor | null,
  dgamma: Float64Array | null,
  beta: Tensor | null,
  dbeta: Float64Array | null,
): (Tensor | null)[] {
  const { needed, out } = request;
  const grads: (Tensor | null)[] = [needed[0] ? deliver(unpermute(dx, x.shape, perm), out?.[0]) : null];
  const sum = (t: Tensor, acc: Float64Array, i: number) => (needed[i] ? deliver(new Tensor(copyAs(acc, t.dtype), t.shape), out?.[i]) : null);
  if (gamma) grads.push(sum(gamma, dgamma!, 1));
  if (beta) grads.push(sum(beta, dbeta!, gamma ? 2 : 1));
  return grads;
}
