// The installed package through `require`, and which binary it loaded: the
// prebuilt one under prebuilds/<platform>-<arch>/ when nothing was compiled,
// build/Release when the install built from source
// (NORMKIT_PROOF_EXPECT=source).
'use strict';
const path = require('node:path');
const nk = require('normkit');

const info = nk.backendInfo();
console.log('cjs backendInfo:', JSON.stringify(info));
const root = path.dirname(require.resolve('normkit/package.json'));
const binary = require('node-gyp-build').path(root);
console.log('cjs binary:', path.relative(root, binary));
const expected = process.env.NORMKIT_PROOF_EXPECT === 'source'
  ? path.join('build', 'Release')
  : path.join('prebuilds', `${process.platform}-${process.arch}`);
if (!path.relative(root, binary).startsWith(expected)) {
  throw new Error(`cjs: loaded ${binary}, expected the binary under ${expected}`);
}
const net = new nk.layers.BatchNormalization();
const y = net.apply(nk.ones([2, 3]), { training: true });
if (y.shape.join() !== '2,3') throw new Error(`cjs: output shape ${y.shape}`);
console.log('cjs OK');
