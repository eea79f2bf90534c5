/**
 * Gradient of `moments` (lib/ops/moments.ts), from either output or both:
 * d mean / dx = 1/n and d variance / dx = 2 (x - mean) / n, with n the
 * number of reduced elements per channel and the recorded mean output.
 */
import { allocate } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { registerGradient, type GradientConfig, type RecordedOp } from '../autodiff/registry.js';
import { broadcastRaw } from '../ops/broadcast.js';
import type { MomentsAttrs } from '../ops/moments.js';

const momentsGradient: GradientConfig<null, MomentsAttrs> = {
  opName: 'Moments',
  backward: ([dMean, dVariance], op: RecordedOp<null, MomentsAttrs>, { needed, out }) => {
    if (!needed[0]) return [null];
    const t = op.inputs[0];
    const { keptShape, count } = op.attrs;
    const dest = out?.[0];
    const dx = dest ? dest.data : allocate(t.dtype, t.size);
    const xd = t.data;
    if (dMean !== null) {
      const g = broadcastRaw(new Tensor(dMean.data, keptShape), t.shape, 'float64').data;
      for (let i = 0; i < dx.length; i++) dx[i] = g[i] / count;
    } else if (dest) {
      dx.fill(0);
    }
    if (dVariance !== null) {
      const m = broadcastRaw(new Tensor(op.outputs[0].data, keptShape), t.shape, 'float64').data;
      const g = broadcastRaw(new Tensor(dVariance.data, keptShape), t.shape, 'float64').data;
      for (let i = 0; i < dx.length; i++) dx[i] += (2 * g[i] * (xd[i] - m[i])) / count;
    }
    return [dest ?? new Tensor(dx, t.shape)];
  },
};

registerGradient(momentsGradient);
