// Reproduction of a use-after-free in the ...Async kernels (run: node --expose-gc test/async/transfer-crash.cjs).
// An ArrayBuffer transferred while an async kernel writes into it, whose new owner is then
// collected: the kernel writes freed memory. Expected: "resolved" or "rejected: ... detached ...".
// Observed on Node 20 / x86-64: the process dies with SIGSEGV (exit code 139).
'use strict';
const path = require('node:path');
const native = require('node-gyp-build')(path.resolve(__dirname, '..', '..'));

const n = 1 << 26; // 256 MB: large enough that the allocator returns it to the OS when freed
const C = 64;
const x = new Float32Array(n).fill(1);
const y = new Float32Array(n);
const pending = native.batchNormInferAsync(x, n / C, C, 1, null, null, new Float32Array(C), new Float32Array(C).fill(1), 1e-3, y);
structuredClone(y.buffer, { transfer: [y.buffer] }); // the new owner is dropped at once
globalThis.gc(); // frees y's memory while the kernel is still writing it
pending.then(
  () => console.log('resolved'),
  (e) => console.log(`rejected: ${e.message}`),
);
