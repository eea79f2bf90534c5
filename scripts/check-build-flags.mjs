// Holds native/build.json to what node-gyp really compiles with: CMake builds
// with build.json's normkit_* and node_gyp_* lists, node-gyp with normkit_*
// plus whatever node's common.gypi adds. After a node-gyp build, this reads
// the flags of the kernels library from build/normkit_kernels.target.mk and
// fails when CMake would pass a flag node-gyp does not, or node-gyp passes
// one that build.json neither lists nor names in node_gyp_not_mirrored.
//   node scripts/check-build-flags.mjs     (after npx node-gyp rebuild; run by .ci/run)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const v = JSON.parse(readFileSync(path.join(root, 'native', 'build.json'), 'utf8')).variables;
const makefile = readFileSync(path.join(root, 'build', 'normkit_kernels.target.mk'), 'utf8');

// The entries of one `NAME := \` block of the generated makefile: the
// tab-indented lines that follow it.
function block(name) {
  const lines = makefile.split('\n');
  const start = lines.indexOf(`${name} := \\`);
  if (start < 0) throw new Error(`build/normkit_kernels.target.mk has no ${name}`);
  const out = [];
  for (let i = start + 1; i < lines.length && lines[i].startsWith('\t'); i++) {
    out.push(lines[i].replace(/\\$/, '').trim().replace(/^'(.*)'$/, '$1'));
  }
  return out;
}
// Defines are compared by name=value, except the module name (per target).
const entry = (s) => (s.startsWith('NODE_GYP_MODULE_NAME=') ? 'NODE_GYP_MODULE_NAME' : s);

const gyp = new Set([
  ...block('DEFS_Release').map((d) => entry(d.replace(/^-D/, ''))),
  ...block('CFLAGS_Release'),
  ...block('CFLAGS_CC_Release'),
]);
const cmake = new Set([
  ...v.normkit_defines, ...v.node_gyp_defines,
  ...v.normkit_cflags, ...v.node_gyp_cflags,
  ...v.normkit_cflags_cc, ...v.node_gyp_cflags_cc,
]);
const ignored = new Set(v.node_gyp_not_mirrored);

const extraInCmake = [...cmake].filter((f) => !gyp.has(f));
const unknownInGyp = [...gyp].filter((f) => !cmake.has(f) && !ignored.has(f));
for (const f of extraInCmake) console.error(`native/build.json: CMake passes ${f}, node-gyp does not`);
for (const f of unknownInGyp) console.error(`native/build.json: node-gyp passes ${f}; add it to node_gyp_* (CMake mirrors it) or node_gyp_not_mirrored`);
if (extraInCmake.length + unknownInGyp.length > 0) process.exit(1);
console.log(`build flags: CMake's ${cmake.size} entries match node-gyp's (${ignored.size} of node-gyp's left out on purpose)`);
