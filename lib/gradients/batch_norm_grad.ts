/**
 * Gradients of the batch-norm ops (lib/ops/batch_norm.ts): one native
 * backward per view (per ghost batch for ghost batch normalization), which
 * writes dx, dgamma and dbeta straight into the destination buffers and
 * skips the ones nobody asked for.
 *
 * Training (batch statistics, which depend on x):
 *   dx = gamma * invStd * (dy - mean(dy) - xhat * mean(dy * xhat))
 * Frozen statistics (inference): dx = gamma * invStd * dy.
 * Either way dgamma = sum(dy * xhat), dbeta = sum(dy) per channel.
 */
import { allocate, convertData, type FloatArray } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { registerGradient, type GradientConfig, type GradientRequest, type RecordedOp } from '../autodiff/registry.js';
import { batchNormBackwardInto, type BatchNormAttrs, type BatchNormSaved } from '../ops/batch_norm.js';

/** The destination of input `i`'s gradient: the caller's buffer, a fresh one, or null when not needed. */
function destination(request: GradientRequest, i: number, like: Tensor, size: number): FloatArray | null {
  if (!request.needed[i]) return null;
  return request.out?.[i]?.data ?? allocate(like.dtype, size);
}

/** The returned gradient of input `i`: the caller's tensor, a new one around `data`, or null. */
function result(request: GradientRequest, i: number, data: FloatArray | null, shape: readonly number[]): Tensor | null {
  if (data === null) return null;
  return request.out?.[i] ?? new Tensor(data, shape);
}

type BatchNormOp = RecordedOp<BatchNormSaved, BatchNormAttrs>;

/** Input indices of gamma and beta (-1 when absent). */
function affineIndices(attrs: BatchNormAttrs): [number, number] {
  return [attrs.hasGamma ? 1 : -1, attrs.hasBeta ? (attrs.hasGamma ? 2 : 1) : -1];
}

function backward([dy]: readonly (Tensor | null)[], op: BatchNormOp, request: GradientRequest): (Tensor | null)[] {
  const { layout, training } = op.attrs;
  const x = op.inputs[0];
  const [gi, bi] = affineIndices(op.attrs);
  const gamma = gi >= 0 ? op.inputs[gi] : null;
  const beta = bi >= 0 ? op.inputs[bi] : null;
  // A gradient arriving in another dtype (mixed-precision graphs) is converted to x's.
  const dyData = convertData(dy!.data, x.dtype);
  const dx = destination(request, 0, x, x.size);
  const dgamma = gamma ? destination(request, gi, x, layout.channels) : null;
  const dbeta = beta ? destination(request, bi, x, layout.channels) : null;
  batchNormBackwardInto(dyData, x.data, layout, gamma?.data ?? null, op.saved, training, dx, dgamma, dbeta);
  const grads: (Tensor | null)[] = [result(request, 0, dx, x.shape)];
  if (gamma) grads.push(result(request, gi, dgamma, gamma.shape));
  if (beta) grads.push(result(request, bi, dbeta, beta.shape));
  return grads;
}

/**
 * Ghost batches: one backward per slab on zero-copy subarrays; dgamma and
 * dbeta are the sums of the slabs' (accumulated in x's dtype, slab order).
 */
function ghostBackward([dy]: readonly (Tensor | null)[], op: BatchNormOp, request: GradientRequest): (Tensor | null)[] {
  const { layout: slab, groups } = op.attrs;
  const { channels } = slab;
  const span = slab.outer * channels * slab.inner;
  const x = op.inputs[0];
  const [gi, bi] = affineIndices(op.attrs);
  const gamma = gi >= 0 ? op.inputs[gi] : null;
  const beta = bi >= 0 ? op.inputs[bi] : null;
  const dyData = convertData(dy!.data, x.dtype);
  const dx = destination(request, 0, x, x.size);
  const dgamma = gamma ? destination(request, gi, x, channels) : null;
  const dbeta = beta ? destination(request, bi, x, channels) : null;
  dgamma?.fill(0);
  dbeta?.fill(0);
  const dgPart = allocate(x.dtype, channels);
  const dbPart = allocate(x.dtype, channels);
  const part = (a: FloatArray, g: number, n: number) => a.subarray(g * n, (g + 1) * n);
  const { mean, invStd } = op.saved;
  for (let g = 0; g < groups; g++) {
    const saved = { mean: part(mean, g, channels), invStd: part(invStd, g, channels) };
    batchNormBackwardInto(part(dyData, g, span), part(x.data, g, span), slab, gamma?.data ?? null, saved, true,
      dx && part(dx, g, span), dgPart, dbPart);
    for (let c = 0; c < channels; c++) {
      if (dgamma) dgamma[c] += dgPart[c];
      if (dbeta) dbeta[c] += dbPart[c];
    }
  }
  const grads: (Tensor | null)[] = [result(request, 0, dx, x.shape)];
  if (gamma) grads.push(result(request, gi, dgamma, gamma.shape));
  if (beta) grads.push(result(request, bi, dbeta, beta.shape));
  return grads;
}

const gradients: GradientConfig<BatchNormSaved, BatchNormAttrs>[] = [
  { opName: 'BatchNormTrain', backward },
  { opName: 'BatchNormInfer', backward },
  { opName: 'GhostBatchNormTrain', backward: ghostBackward },
];
for (const config of gradients) registerGradient(config);
