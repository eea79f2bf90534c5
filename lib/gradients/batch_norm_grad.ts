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
import { allocate, allocateUninit, convertData, type FloatArray } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { registerGradient, type GradientConfig, type GradientRequest, type RecordedOp } from '../autodiff/registry.js';
import { batchNormBackwardInto, type BatchNormAttrs, type BatchNormSaved } from '../ops/batch_norm.js';

type BatchNormOp = RecordedOp<BatchNormSaved, BatchNormAttrs>;

/** What both backwards work on: the inputs, dy in x's dtype, and the destinations (null: not needed). */
interface Work {
  x: Tensor;
  gamma: Tensor | null;
  beta: Tensor | null;
  /** Input indices of gamma and beta (-1 when absent). */
  gi: number;
  bi: number;
  dy: FloatArray;
  dx: FloatArray | null;
  dgamma: FloatArray | null;
  dbeta: FloatArray | null;
}

function prepare(dy: Tensor, op: BatchNormOp, request: GradientRequest): Work {
  const { hasGamma, hasBeta, layout } = op.attrs;
  const x = op.inputs[0];
  const gi = hasGamma ? 1 : -1;
  const bi = hasBeta ? (hasGamma ? 2 : 1) : -1;
  // The caller's buffer, a fresh one, or null when nobody asked for that gradient.
  const destination = (i: number, size: number) => (i < 0 || !request.needed[i] ? null : (request.out?.[i]?.data ?? allocateUninit(x.dtype, size)));
  return {
    x,
    gamma: gi >= 0 ? op.inputs[gi] : null,
    beta: bi >= 0 ? op.inputs[bi] : null,
    gi,
    bi,
    // A gradient arriving in another dtype (mixed-precision graphs) is converted to x's.
    dy: convertData(dy.data, x.dtype),
    dx: destination(0, x.size),
    dgamma: destination(gi, layout.channels),
    dbeta: destination(bi, layout.channels),
  };
}

/** [dx, dgamma?, dbeta?]: the caller's tensors, new ones around the computed buffers, or null. */
function gradients(w: Work, request: GradientRequest): (Tensor | null)[] {
  const wrap = (i: number, data: FloatArray | null, shape: readonly number[]) => (data === null ? null : (request.out?.[i] ?? new Tensor(data, shape)));
  const grads = [wrap(0, w.dx, w.x.shape)];
  if (w.gamma) grads.push(wrap(w.gi, w.dgamma, w.gamma.shape));
  if (w.beta) grads.push(wrap(w.bi, w.dbeta, w.beta.shape));
  return grads;
}

function backward([dy]: readonly (Tensor | null)[], op: BatchNormOp, request: GradientRequest): (Tensor | null)[] {
  const w = prepare(dy!, op, request);
  batchNormBackwardInto(w.dy, w.x.data, op.attrs.layout, w.gamma?.data ?? null, op.saved, op.attrs.training, w.dx, w.dgamma, w.dbeta);
  return gradients(w, request);
}

/**
 * Ghost batches: one backward per slab on zero-copy subarrays; dgamma and
 * dbeta are the sums of the slabs' (accumulated in x's dtype, slab order).
 */
function ghostBackward([dy]: readonly (Tensor | null)[], op: BatchNormOp, request: GradientRequest): (Tensor | null)[] {
  const { layout: slab, groups } = op.attrs;
  const { channels } = slab;
  const span = slab.outer * channels * slab.inner;
  const w = prepare(dy!, op, request);
  const { x, dx, dgamma, dbeta } = w;
  dgamma?.fill(0);
  dbeta?.fill(0);
  const dgPart = allocate(x.dtype, channels);
  const dbPart = allocate(x.dtype, channels);
  const part = (a: FloatArray, g: number, n: number) => a.subarray(g * n, (g + 1) * n);
  const { mean, invStd } = op.saved;
  for (let g = 0; g < groups; g++) {
    const saved = { mean: part(mean, g, channels), invStd: part(invStd, g, channels) };
    batchNormBackwardInto(part(w.dy, g, span), part(x.data, g, span), slab, w.gamma?.data ?? null, saved, true,
      dx && part(dx, g, span), dgPart, dbPart);
    for (let c = 0; c < channels; c++) {
      if (dgamma) dgamma[c] += dgPart[c];
      if (dbeta) dbeta[c] += dbPart[c];
    }
  }
  return gradients(w, request);
}

const configs: GradientConfig<BatchNormSaved, BatchNormAttrs>[] = [
  { opName: 'BatchNormTrain', backward },
  { opName: 'BatchNormInfer', backward },
  { opName: 'GhostBatchNormTrain', backward: ghostBackward },
];
for (const config of configs) registerGradient(config);
