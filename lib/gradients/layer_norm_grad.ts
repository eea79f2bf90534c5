/**
 * Gradient of layer normalization (lib/ops/layer_norm.ts). In the view's
 * order (rows are the kept positions, p = o * inner + i the feature index):
 *
 *   dgamma[p] = sum over rows of dy * xhat,  dbeta[p] = sum over rows of dy
 *   dx = invStd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * gamma
 *
 * the last by the row-normalization backward. With rmsScaling the output is
 * x * invStd * gamma (x not centered), which adds r * mean(g) * (1 - r * m * xhat)
 * to dx (r = invStd, m the row mean) and makes gamma's factor x * invStd.
 */
import { allocate, convertData } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { registerGradient, type GradientConfig, type RecordedOp } from '../autodiff/registry.js';
import type { LayerNormAttrs, RowNormSaved } from '../ops/layer_norm.js';
import { normalizeRowsBackward } from '../ops/row_norm.js';
import { affineGradients, zeroGradients } from './common.js';
import { transposeRaw } from '../ops/shape.js';

const layerNormGradient: GradientConfig<RowNormSaved | null, LayerNormAttrs> = {
  opName: 'LayerNorm',
  backward: ([dy], op: RecordedOp<RowNormSaved | null, LayerNormAttrs>, request) => {
    if (op.saved === null) return zeroGradients(op.inputs, request);
    const { layout, perm, rmsScaling, hasGamma, hasBeta } = op.attrs;
    const { data, mean, invStd } = op.saved;
    const { outer, channels, inner } = layout;
    const x = op.inputs[0];
    const gamma = hasGamma ? op.inputs[1] : null;
    const beta = hasBeta ? op.inputs[hasGamma ? 2 : 1] : null;
    const gd = gamma?.data;
    const dyIn = convertData(dy!.data, x.dtype);
    const dyData = perm ? transposeRaw(new Tensor(dyIn, x.shape), perm).data : dyIn;
    const pSize = outer * inner;
    const dgamma = gamma ? new Float64Array(pSize) : null;
    const dbeta = beta ? new Float64Array(pSize) : null;
    const g = gd ? allocate(x.dtype, x.size) : dyData;
    for (let o = 0; o < outer; o++)
      for (let c = 0; c < channels; c++) {
        const base = (o * channels + c) * inner;
        const p0 = o * inner;
        const m = rmsScaling ? 0 : mean[c];
        const s = invStd[c];
        for (let i = 0; i < inner; i++) {
          const k = base + i;
          const d = dyData[k];
          if (dgamma) dgamma[p0 + i] += d * (data[k] - m) * s;
          if (dbeta) dbeta[p0 + i] += d;
          if (gd) g[k] = d * gd[p0 + i];
        }
      }
    const { dx, rowSum } = normalizeRowsBackward(g, data, layout, { mean, invStd });
    if (rmsScaling) {
      const n = outer * inner;
      for (let o = 0; o < outer; o++)
        for (let c = 0; c < channels; c++) {
          const base = (o * channels + c) * inner;
          const s = invStd[c];
          const m = mean[c];
          const a = (s * rowSum[c]) / n;
          for (let i = 0; i < inner; i++) dx[base + i] += a * (1 - s * s * m * (data[base + i] - m));
        }
    }
    return affineGradients(request, x, perm, dx, gamma, dgamma, beta, dbeta);
  },
};

registerGradient(layerNormGradient);
