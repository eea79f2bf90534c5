/**
 * Gradients of the reductions (lib/ops/reduction.ts): the upstream gradient
 * is broadcast back over the reduced axes — scaled by 1/count for the mean,
 * masked to the extreme positions (ties sharing equally) for max and min.
 */
import { allocate } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { deliver, registerGradient, type GradientConfig, type RecordedOp } from '../autodiff/registry.js';
import { broadcastRaw, sumToShape } from '../ops/broadcast.js';
import type { ReductionAttrs } from '../ops/reduction.js';

/** `dy` (of the kept shape) broadcast to the input's shape in its dtype, times `scale`. */
function spread(dy: Tensor, x: Tensor, kept: readonly number[], scale: number): Tensor {
  const g = broadcastRaw(new Tensor(dy.data, kept), x.shape, x.dtype);
  if (scale !== 1) for (let i = 0; i < g.data.length; i++) g.data[i] *= scale;
  return g;
}

function spreadGradient(opName: string, meanScale: boolean): GradientConfig<null, ReductionAttrs> {
  return {
    opName,
    backward: ([dy], op: RecordedOp<null, ReductionAttrs>, { needed, out }) => {
      if (!needed[0]) return [null];
      const { kept, count } = op.attrs;
      return [deliver(spread(dy!, op.inputs[0], kept, meanScale ? 1 / count : 1), out?.[0])];
    },
  };
}

/** As TensorFlow: the gradient is shared equally by every element equal to the extreme. */
function extremeGradient(opName: string): GradientConfig<null, ReductionAttrs> {
  return {
    opName,
    backward: ([dy], op: RecordedOp<null, ReductionAttrs>, { needed, out }) => {
      if (!needed[0]) return [null];
      const x = op.inputs[0];
      const { kept } = op.attrs;
      const ext = broadcastRaw(new Tensor(op.outputs[0].data, kept), x.shape);
      const xd = x.data;
      const ed = ext.data;
      const mask = allocate(x.dtype, x.size);
      for (let i = 0; i < mask.length; i++) mask[i] = xd[i] === ed[i] ? 1 : 0;
      const counts = sumToShape(new Tensor(mask, x.shape), kept, 'float64').data;
      const share = new Float64Array(counts.length);
      const dyd = dy!.data;
      for (let i = 0; i < share.length; i++) share[i] = dyd[i] / counts[i];
      const g = broadcastRaw(new Tensor(share, kept), x.shape, x.dtype);
      for (let i = 0; i < mask.length; i++) g.data[i] *= mask[i];
      return [deliver(g, out?.[0])];
    },
  };
}

registerGradient(spreadGradient('Sum', false));
registerGradient(spreadGradient('Mean', true));
registerGradient(extremeGradient('Max'));
registerGradient(extremeGradient('Min'));
