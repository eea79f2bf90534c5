// examples/seed-walkthrough.ts as plain JavaScript against the installed
// package: the tutorial's four phases through the public API only. Its
// output must equal `npm run demo` in the source tree (same seed), which
// scripts/pack-install-proof.sh checks.
import * as nk from 'normkit';

function normalize(x, mean, std) {
  return nk.normalize(x, mean, std);
}
console.log('normalize([1, 2, 3], 2, 0.5):', String(normalize([1, 2, 3], 2, 0.5)));

const show = (vars) => `[${vars.map(String).join(', ')}]`;

const x = nk.randomNormal([2, 4, 4, 3], { mean: 1, stddev: 0.5, seed: 2026 });
const net = new nk.layers.BatchNormalization({ axis: -1, center: true, scale: true, trainable: true });

let out = net.apply(x);
console.log('forward in test mode:', show(net.variables));

out = net.apply(x, { training: true });
console.log('forward in train mode(1 step):', show(net.variables));

for (let i = 0; i < 100; i++) out = net.apply(x, { training: true });
console.log('forward in train mode(100 steps):', show(net.variables));

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
