/** Setup shared by the differential tests against TensorFlow.js layers. */
import * as tf from '@tensorflow/tfjs-core';
import * as nk from '../../lib/index.js';

/** The input `x` and the upstream weights `w` as tensors of both libraries. */
export interface TwinInputs {
  xt: tf.Tensor;
  wt: tf.Tensor;
  xn: nk.Tensor;
  wn: nk.Tensor;
}

/**
 * Wraps `x` and `w` (of `shape`) for both libraries and applies each layer
 * once, so both are built before their weights are set.
 */
export function buildTwins(ours: { apply(x: nk.Tensor): unknown }, theirs: { apply(x: tf.Tensor): unknown }, x: Float32Array, w: Float32Array, shape: number[]): TwinInputs {
  const inputs = { xt: tf.tensor(x, shape), wt: tf.tensor(w, shape), xn: nk.tensor(x, shape), wn: nk.tensor(w, shape) };
  ours.apply(inputs.xn);
  theirs.apply(inputs.xt);
  return inputs;
}
