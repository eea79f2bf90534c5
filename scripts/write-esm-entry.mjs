// Writes dist/index.mjs and dist/index.d.mts: the ESM entry re-exports the
// CommonJS build, so `import` and `require` share one module instance (one
// layer-name counter, one addon) instead of two copies that drift apart.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const require = createRequire(import.meta.url);
const names = Object.keys(require(path.join(dist, 'index.js'))).filter((n) => n !== 'default' && n !== '__esModule');
const lines = [
  "import cjs from './index.js';",
  ...names.map((n) => `export const ${n} = cjs.${n};`),
  'export default cjs;',
  '',
];
writeFileSync(path.join(dist, 'index.mjs'), lines.join('\n'));
writeFileSync(path.join(dist, 'index.d.mts'), "export * from './index.js';\nimport * as nk from './index.js';\nexport default nk;\n");
console.log(`dist/index.mjs: ${names.length} named exports`);
