// Smoke test of the raw addon: every export once on a small tensor, compared
// with a plain JS loop. Run: node test/native/smoke.cjs  (exit code 1 on failure)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const nodeGypBuild = require('node-gyp-build');
const root = path.resolve(__dirname, '..', '..');
const native = nodeGypBuild(root);
// noop and streamCopy are the bench's own addon, built beside the main one in
// a checkout (lib/native.ts's benchBinding(), which this plain script cannot
// import); a prebuilt binary has none, and those two are then skipped.
const benchFile = path.join(path.dirname(nodeGypBuild.resolve(root)), 'normkit_bench.addon');
let bench = null;
if (fs.existsSync(benchFile)) {
  const m = { exports: {} };
  process.dlopen(m, benchFile);
  bench = m.exports;
} else {
  console.log(`no bench addon beside the loaded one (${benchFile}): streamCopy and noop skipped`);
}

let failures = 0;
function close(name, got, want, tol) {
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol * (1 + Math.abs(want[i])))) {
      console.error(`FAIL ${name}[${i}]: got ${got[i]}, want ${want[i]}`);
      failures++;
      return;
    }
  }
}

function moments(x, outer, C, inner) {
  const n = outer * inner;
  const mean = new Float64Array(C), v = new Float64Array(C);
  for (let o = 0; o < outer; o++) for (let c = 0; c < C; c++) for (let i = 0; i < inner; i++) mean[c] += x[(o * C + c) * inner + i];
  for (let c = 0; c < C; c++) mean[c] /= n;
  for (let o = 0; o < outer; o++) for (let c = 0; c < C; c++) for (let i = 0; i < inner; i++) { const d = x[(o * C + c) * inner + i] - mean[c]; v[c] += d * d; }
  for (let c = 0; c < C; c++) v[c] /= n;
  return { mean, v };
}

async function main() {
  const info = native.backendInfo();
  console.log('backendInfo', info);
  for (const isa of info.isaAvailable) {
    native.setIsa(isa);
    if (bench) bench.setIsa(isa);
    for (const [Arr, tol] of [[Float32Array, 1e-5], [Float64Array, 1e-12]]) {
      for (const [outer, C, inner] of [[5, 3, 1], [2, 3, 70], [4, 5, 3], [300, 17, 1]]) {
        const count = outer * C * inner;
        const x = Arr.from({ length: count }, (_, i) => Math.sin(i * 1.7) * 3 + 0.5 * (i % C));
        const dy = Arr.from({ length: count }, (_, i) => Math.cos(i * 0.3));
        const gamma = Arr.from({ length: C }, (_, c) => 1 + 0.1 * c);
        const beta = Arr.from({ length: C }, (_, c) => 0.5 - 0.2 * c);
        const { mean, v } = moments(x, outer, C, inner);
        const tag = `${isa} ${Arr.name} [${outer},${C},${inner}]`;

        const m = new Arr(C), vv = new Arr(C);
        native.channelStats(x, outer, C, inner, m, vv);
        close(`${tag} channelStats mean`, m, mean, tol);
        close(`${tag} channelStats var`, vv, v, tol);

        const eps = 1e-3;
        const y = new Arr(count), bm = new Arr(C), bv = new Arr(C), is = new Arr(C);
        native.batchNormTrain(x, outer, C, inner, gamma, beta, eps, y, bm, bv, is);
        const yRef = new Float64Array(count);
        for (let j = 0; j < count; j++) { const c = Math.floor(j / inner) % C; yRef[j] = (x[j] - mean[c]) / Math.sqrt(v[c] + eps) * gamma[c] + beta[c]; }
        close(`${tag} batchNormTrain y`, y, yRef, tol);

        const yi = new Arr(count);
        native.batchNormInfer(x, outer, C, inner, gamma, beta, bm, bv, eps, yi);
        close(`${tag} batchNormInfer y`, yi, yRef, tol * 10);

        const dx = new Arr(count), dg = new Arr(C), db = new Arr(C);
        native.batchNormBackward(dy, x, outer, C, inner, gamma, bm, is, true, dx, dg, db);
        const n = outer * inner;
        const sdy = new Float64Array(C), sdyx = new Float64Array(C);
        for (let j = 0; j < count; j++) { const c = Math.floor(j / inner) % C; sdy[c] += dy[j]; sdyx[c] += dy[j] * (x[j] - bm[c]) * is[c]; }
        const dxRef = new Float64Array(count);
        for (let j = 0; j < count; j++) { const c = Math.floor(j / inner) % C; const xh = (x[j] - bm[c]) * is[c]; dxRef[j] = gamma[c] * is[c] * (dy[j] - sdy[c] / n - xh * sdyx[c] / n); }
        close(`${tag} backward dbeta`, db, sdy, tol * 10);
        close(`${tag} backward dgamma`, dg, sdyx, tol * 10);
        close(`${tag} backward dx`, dx, dxRef, tol * 10);

        const ya = new Arr(count), ma = new Arr(C), va = new Arr(C), ia = new Arr(C);
        await native.batchNormTrainAsync(x, outer, C, inner, gamma, beta, eps, ya, ma, va, ia);
        close(`${tag} batchNormTrainAsync y`, ya, y, 0);
      }
      const w = Arr.from([1, 2, 3]), g = Arr.from([0.5, -1, 2]), vel = Arr.from([0.1, 0.2, 0.3]);
      native.sgdUpdate(w, g, vel, 0.1, 0.9, false);
      close(`${isa} ${Arr.name} sgd`, w, [1 + 0.09 - 0.05, 2 + 0.18 + 0.1, 3 + 0.27 - 0.2], tol);
      if (bench) {
        const src = Arr.from({ length: 1000 }, (_, i) => i), dst = new Arr(1000);
        bench.streamCopy(src, dst);
        close(`${isa} ${Arr.name} streamCopy`, dst, src, 0);
        bench.noop(src, dst);
      }
    }
  }
  native.setIsa(info.isa);
  let rejected = false;
  try { native.channelStats(new Int32Array(3), 1, 3, 1, new Float32Array(3), new Float32Array(3)); } catch (e) { rejected = e instanceof TypeError; console.log('rejects:', e.message); }
  if (!rejected) { console.error('FAIL: Int32Array accepted'); failures++; }
  await native.channelStatsAsync(new Float32Array(2), 1, 3, 1, new Float32Array(3), new Float32Array(3)).then(
    () => { console.error('FAIL: async accepted a bad length'); failures++; },
    (e) => console.log('async rejects:', e.constructor.name, e.message));
  console.log(failures === 0 ? 'smoke OK' : `${failures} failure(s)`);
  process.exitCode = failures === 0 ? 0 : 1;
}
main();
