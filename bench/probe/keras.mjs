// usage: node keras.mjs <path to dist/index.js> [shapeIdx]
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const nk = require(process.argv[2]);
nk.setNumThreads(1);
const reps = Number(process.env.REPS ?? 15);
function med(f) {
  for (let i = 0; i < 3; i++) f();
  const ts = [];
  const pf0 = process.resourceUsage().minorPageFault;
  for (let i = 0; i < reps; i++) { const t = process.hrtime.bigint(); f(); ts.push(Number(process.hrtime.bigint() - t) / 1e6); }
  const pf = (process.resourceUsage().minorPageFault - pf0) / reps;
  ts.sort((a, b) => a - b);
  return `${ts[reps >> 1].toFixed(3)} ms  pf/step ${pf.toFixed(0)}`;
}
const tidy = typeof nk.tidy === 'function' ? nk.tidy : (f) => f();
const shapes = [[[32, 28, 28, 128], -1], [[32, 128, 28, 28], 1], [[4096, 1024], -1], [[2, 4, 4, 3], -1]];
for (const [shape, axis] of shapes) {
  const x = nk.randomNormal(shape, { seed: 1 });
  const dy = nk.randomNormal(shape, { seed: 2 });
  const net = new nk.layers.BatchNormalization({ axis });
  net.apply(x, { training: true });
  const opt = new nk.optimizers.SGD({ learningRate: 1e-2 });
  const r = {};
  r.train = med(() => tidy(() => { net.apply(x, { training: true }); }));
  r.infer = med(() => tidy(() => { net.apply(x); }));
  r.fwdgrad = med(() => tidy(() => { const tape = new nk.GradientTape(); tape.watch(x); const l = tape.record(() => nk.sum(nk.mul(net.apply(x, { training: true }), dy))); tape.gradient(l, [x, ...net.trainableVariables]); }));
  r.step = med(() => tidy(() => { const tape = new nk.GradientTape(); const l = tape.record(() => nk.sub(nk.mean(nk.square(net.apply(x, { training: true }))), 1)); const g = tape.gradient(l, net.trainableVariables); opt.applyGradients(nk.zip(g, net.trainableVariables)); }));
  if (shape[0] === 32 && axis === -1) {
    const row = nk.randomNormal([128], { seed: 3 });
    r.mul = med(() => tidy(() => { nk.mul(x, dy); }));
    r.add1 = med(() => tidy(() => { nk.add(x, 1); }));
    r.mulrow = med(() => tidy(() => { nk.mul(x, row); }));
    r.exp = med(() => tidy(() => { nk.exp(x); }));
    r.sum = med(() => tidy(() => { nk.sum(x); }));
    r.mean012 = med(() => tidy(() => { nk.mean(x, [0, 1, 2]); }));
    const buf = new Float32Array(x.size * 2); const src = x.data;
    r.copy = med(() => { buf.set(src); });
  }
  console.log(JSON.stringify(shape), axis, JSON.stringify(r, null, 1));
}
