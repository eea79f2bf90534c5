/**
 * The TensorFlow 2 batch-normalization tutorial, step by step, in normkit.
 * Run with `npm run demo`. Each block mirrors one cell of the Python original
 * (kept in ../shared/seed/), and prints `net.variables` as TensorFlow does.
 */
import * as nk from '../lib/index.js';

// The tutorial's first function: plain normalization with broadcasting.
function normalize(x: nk.TensorLike, mean: nk.TensorLike, std: nk.TensorLike): nk.Tensor {
  return nk.normalize(x, mean, std);
}
console.log('normalize([1, 2, 3], 2, 0.5):', String(normalize([1, 2, 3], 2, 0.5)));

const show = (vars: nk.Variable[]): string => `[${vars.map(String).join(', ')}]`;

// 2 images of 4x4 pixels with 3 channels, drawn from N(1, 0.5).
// (TensorFlow draws unseeded; a seed makes this walkthrough repeatable.)
const x = nk.randomNormal([2, 4, 4, 3], { mean: 1, stddev: 0.5, seed: 2026 });

// center -> beta (offset), scale -> gamma (scale). trainable: training mode
// updates moving_mean and moving_variance.
const net = new nk.layers.BatchNormalization({ axis: -1, center: true, scale: true, trainable: true });

// Inference mode (the default): moving statistics, still 0 and 1.
let out = net.apply(x);
console.log('forward in test mode:', show(net.variables));

// Training mode: batch statistics; the moving statistics move 1% of the way.
out = net.apply(x, { training: true });
console.log('forward in train mode(1 step):', show(net.variables));

for (let i = 0; i < 100; i++) out = net.apply(x, { training: true });
console.log('forward in train mode(100 steps):', show(net.variables));

// gamma and beta trained by SGD on mean(out^2) - 1. Like the tutorial this
// passes the old name `lr`: it works and warns (as Keras does) that
// `learningRate` is the name now.
const optimizer = new nk.optimizers.SGD({ lr: 1e-2 });
for (let i = 0; i < 10; i++) {
  const tape = new nk.GradientTape();
  const loss = tape.record(() => {
    out = net.apply(x, { training: true });
    return nk.sub(nk.mean(nk.pow(out, 2)), 1);
  });
  const grads = tape.gradient(loss, net.trainableVariables);
  optimizer.applyGradients(nk.zip(grads, net.trainableVariables));
}
console.log('backward(10 steps):', show(net.variables));
