// The installed package through `import`: named exports, the default export,
// the backend, and one kernel call.
import * as nk from 'normkit';
import nkDefault from 'normkit';

const info = nk.backendInfo();
console.log('esm backendInfo:', JSON.stringify(info));
if (typeof nk.layers?.BatchNormalization !== 'function') throw new Error('esm: layers.BatchNormalization missing');
if (nkDefault.backendInfo !== nk.backendInfo) throw new Error('esm: default export is a different module instance');
const { mean, variance } = nk.moments(nk.tensor([1, 2, 3, 4], [4, 1]), [0]);
if (Math.abs(mean.data[0] - 2.5) > 1e-6 || Math.abs(variance.data[0] - 1.25) > 1e-6) {
  throw new Error(`esm: moments gave ${mean.data[0]}, ${variance.data[0]}`);
}
console.log('esm OK');
