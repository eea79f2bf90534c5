/**
 * Gradients of the ops that move elements without arithmetic
 * (lib/ops/shape.ts, broadcastTo, cast): the upstream gradient goes back
 * through the inverse rearrangement — the input's shape, the inverse
 * permutation, the input's slice of a concatenation, the sum over broadcast
 * dimensions, the input's dtype.
 */
import { allocate, allocateUninit, copyAs } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { deliver, registerGradient, type GradientConfig, type RecordedOp } from '../autodiff/registry.js';
import { sumToShape } from '../ops/broadcast.js';
import { inversePerm, reshapeRaw, transposeRaw, type ConcatAttrs, type TransposeAttrs } from '../ops/shape.js';

/** Gradient of an op whose output holds the input's elements in the same order. */
function sameOrderGradient(opName: string): GradientConfig<null, null> {
  return {
    opName,
    backward: ([dy], op, { needed, out }) => [needed[0] ? deliver(reshapeRaw(dy!, op.inputs[0].shape), out?.[0]) : null],
  };
}

const transposeGradient: GradientConfig<null, TransposeAttrs> = {
  opName: 'Transpose',
  backward: ([dy], op: RecordedOp<null, TransposeAttrs>, { needed, out }) => [
    needed[0] ? deliver(transposeRaw(dy!, inversePerm(op.attrs.perm)), out?.[0]) : null,
  ],
};

/** Each input gets its block of columns of every row of the [outer, axis * inner] gradient. */
const concatGradient: GradientConfig<null, ConcatAttrs> = {
  opName: 'Concat',
  backward: ([dy], op: RecordedOp<null, ConcatAttrs>, { needed, out }) => {
    const { axis, outer, inner } = op.attrs;
    const rowLength = op.outputs[0].shape[axis] * inner;
    const dyData = dy!.data;
    let col = 0;
    return op.inputs.map((t, i) => {
      const chunk = t.shape[axis] * inner;
      const start = col;
      col += chunk;
      if (!needed[i]) return null;
      const dest = out?.[i];
      const g = dest ? dest.data : allocateUninit(t.dtype, t.size);
      for (let o = 0; o < outer; o++) g.set(dyData.subarray(o * rowLength + start, o * rowLength + start + chunk), o * chunk);
      return dest ?? new Tensor(g, t.shape);
    });
  },
};

const broadcastToGradient: GradientConfig<null, null> = {
  opName: 'BroadcastTo',
  backward: ([dy], op, { needed, out }) => [needed[0] ? deliver(sumToShape(dy!, op.inputs[0].shape), out?.[0]) : null],
};

/** The gradient of a cast is the upstream gradient cast back to the input's dtype. */
const castGradient: GradientConfig<null, null> = {
  opName: 'Cast',
  backward: ([dy], op, { needed, out }) => {
    if (!needed[0]) return [null];
    const x = op.inputs[0];
    return [deliver(new Tensor(copyAs(dy!.data, x.dtype), x.shape), out?.[0])];
  },
};

for (const name of ['Reshape', 'ExpandDims', 'Squeeze']) registerGradient(sameOrderGradient(name));
registerGradient(transposeGradient);
registerGradient(concatGradient);
registerGradient(broadcastToGradient);
registerGradient(castGradient);
