// An ArrayBuffer "transferred" while an async kernel writes into it, whose new owner is then
// collected (run: node --expose-gc test/async/transfer-crash.cjs). Through the raw addon this
// was a use-after-free (SIGSEGV); lib/native.ts marks the buffers of async calls untransferable,
// so the transfer copies, the kernel's memory stays with y, and the call resolves.
'use strict';
require('tsx/cjs');
const { native } = require('../../lib/native.ts');

const n = 1 << 26; // 256 MB: large enough that the allocator returns it to the OS when freed
const C = 64;
const x = new Float32Array(n).fill(1);
const y = new Float32Array(n);
const pending = native.batchNormInferAsync(x, n / C, C, 1, null, null, new Float32Array(C), new Float32Array(C).fill(1), 1e-3, y);
structuredClone(y.buffer, { transfer: [y.buffer] }); // the new owner is dropped at once
globalThis.gc(); // frees y's memory while the kernel is still writing it
pending.then(
  () => console.log(y.length === n && y[0] !== 0 ? 'resolved' : 'resolved with y detached or unwritten'),
  (e) => console.log(`rejected: ${e.message}`),
);
