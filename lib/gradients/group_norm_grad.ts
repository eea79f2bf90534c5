/**
 * Gradient of group normalization (lib/ops/group_norm.ts). Row r of the
 * view is (sample r / groups, group r % groups); per channel c:
 *
 *   dgamma[c] = sum of dy * xhat over c's positions,  dbeta[c] = sum of dy
 *   dx = invStd * (g - mean(g) - xhat * mean(g * xhat)) per row,  g = dy * gamma[c]
 *
 * the last by the row-normalization backward, as for layer normalization.
 */
import { allocate, convertData } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { registerGradient, type GradientConfig, type RecordedOp } from '../autodiff/registry.js';
import type { GroupNormAttrs } from '../ops/group_norm.js';
import type { RowNormSaved } from '../ops/layer_norm.js';
import { normalizeRowsBackward } from '../ops/row_norm.js';
import { affineGradients, zeroGradients } from './common.js';
import { transposeRaw } from '../ops/shape.js';

const groupNormGradient: GradientConfig<RowNormSaved | null, GroupNormAttrs> = {
  opName: 'GroupNorm',
  backward: ([dy], op: RecordedOp<RowNormSaved | null, GroupNormAttrs>, request) => {
    if (op.saved === null) return zeroGradients(op.inputs, request);
    const { layout, perm, groups, perGroup, spatial, hasGamma, hasBeta } = op.attrs;
    const { data, mean, invStd } = op.saved;
    const x = op.inputs[0];
    const shape = x.shape;
    const channels = groups * perGroup;
    const rows = layout.channels;
    const rowLength = layout.inner;
    const gamma = hasGamma ? op.inputs[1] : null;
    const beta = hasBeta ? op.inputs[hasGamma ? 2 : 1] : null;
    const gd = gamma?.data;
    const dyIn = convertData(dy!.data, x.dtype);
    const dyData = perm ? transposeRaw(new Tensor(dyIn, shape), perm).data : dyIn;
    const dgamma = gamma ? new Float64Array(channels) : null;
    const dbeta = beta ? new Float64Array(channels) : null;
    const g = gd ? allocate(x.dtype, x.size) : dyData;
    for (let r = 0; r < rows; r++) {
      const c0 = (r % groups) * perGroup;
      const m = mean[r];
      const inv = invStd[r];
      for (let cg = 0; cg < perGroup; cg++) {
        const c = c0 + cg;
        const scale = gd ? gd[c] : 1;
        const base = r * rowLength + cg * spatial;
        let sumDy = 0;
        let sumDyXhat = 0;
        for (let s = 0; s < spatial; s++) {
          const k = base + s;
          const d = dyData[k];
          sumDy += d;
          sumDyXhat += d * (data[k] - m) * inv;
          if (gd) g[k] = d * scale;
        }
        if (dgamma) dgamma[c] += sumDyXhat;
        if (dbeta) dbeta[c] += sumDy;
      }
    }
    const { dx } = normalizeRowsBackward(g, data, layout, { mean, invStd });
    return affineGradients(request, x, perm, dx, gamma, dgamma, beta, dbeta);
  },
};

registerGradient(groupNormGradient);
