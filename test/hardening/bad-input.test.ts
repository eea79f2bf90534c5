/**
 * The reliability contract (DESIGN.md), as one table: every bad input through
 * every public entry point (nk.kernels.* and their Async twins, the layer,
 * the optimizer, the tape, Variable, tensor creation) and through the raw
 * binding (it can be called directly) gets a TypeError or RangeError whose
 * message names the API, the parameter, what was expected and what came; a
 * failed layer or optimizer call leaves every variable, moving statistic and
 * optimizer counter as it was; a failed kernel call modifies none of its
 * arrays. SharedArrayBuffer-backed inputs are not bad input: they work and
 * give the numbers ordinary buffers give.
 */
import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { uniform } from '../helpers.js';

type FloatArray = Float32Array | Float64Array;
type ErrorClass = typeof TypeError | typeof RangeError;
const CODES = ['ERR_NORMKIT_INVALID_TYPE', 'ERR_NORMKIT_INVALID_VALUE', 'ERR_NORMKIT_SHAPE_MISMATCH', 'ERR_NORMKIT_INVALID_STATE'];

const f32 = (n: number, seed = 1) => Float32Array.from(uniform(n, seed, -1, 2));
const ones = (n: number) => new Float32Array(n).fill(1);
/** A typed array whose ArrayBuffer was transferred away (detached). */
function detached<T extends FloatArray>(a: T): T {
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
  return a;
}
/** A tensor whose data buffer was transferred away after creation. */
function detachedTensor(shape: number[]): nk.Tensor {
  const t = nk.tensor(f32(shape.reduce((p, q) => p * q, 1)), shape);
  detached(t.data);
  return t;
}
const train = (x: FloatArray) => nk.kernels.batchNormTrain(x, { shape: [4, 3] });

/** Everything whose change a failed call must not cause. */
interface Subject {
  layer?: nk.layers.Layer;
  optimizer?: nk.optimizers.SGD;
  variables?: nk.Variable[];
  arrays?: FloatArray[];
}
function snapshot(s: Subject): unknown {
  const vars = [...(s.layer?.variables ?? []), ...(s.variables ?? [])];
  return {
    built: s.layer?.built,
    names: vars.map((v) => v.name),
    values: vars.map((v) => Array.from(v.snapshot().data)),
    iterations: s.optimizer?.iterations,
    learningRate: s.optimizer?.learningRate,
    arrays: (s.arrays ?? []).map((a) => (a.length === 0 ? 'detached' : Array.from(a))),
  };
}

interface Row {
  /** What is wrong, for the test name. */
  what: string;
  /** The API named first in the message. */
  api: string;
  /** The parameter the message must name. */
  param: string;
  call: () => unknown;
  cls: ErrorClass;
  message: string;
  /** State the failed call must leave as it was (built lazily, once per row). */
  subject?: Subject;
  /** The raw binding throws plain TypeError/RangeError (no normkit `code`). */
  raw?: boolean;
  /** A known bug, described: the row runs as `it.fails` until it is fixed. */
  knownBug?: string;
}

/** A built float32 BatchNormalization on [4,3] (axis -1) after two training calls. */
function builtLayer(options: nk.layers.BatchNormalizationOptions = {}): nk.layers.BatchNormalization {
  const net = new nk.layers.BatchNormalization({ momentum: 0.5, ...options });
  net.apply(nk.tensor(f32(12, 3), [4, 3]), { training: true });
  net.apply(nk.tensor(f32(12, 4), [4, 3]), { training: true });
  return net;
}

// ---- nk.kernels.*: each row runs sync (throws) and Async (rejects, same message with the Async name).
interface KernelRow {
  what: string;
  kernel: 'batchNormTrain' | 'batchNormInfer' | 'batchNormBackward' | 'channelStats';
  param: string;
  /** Fresh arguments; the arrays among them are checked unchanged after the failure. */
  args: () => unknown[];
  cls: ErrorClass;
  /** Message after `kernels.<name>: `. */
  message: string;
}
const stats3 = () => ({ mean: f32(3, 5), variance: ones(3) });
const back3 = () => ({ mean: f32(3, 5), invStd: ones(3) });
const kernelRows: KernelRow[] = [
  // wrong dtype / typed-array kind
  { what: 'Int32Array x', kernel: 'batchNormTrain', param: 'x', args: () => [new Int32Array(12), { shape: [4, 3] }], cls: TypeError, message: 'expected x as a Float32Array or Float64Array, got Int32Array(12)' },
  { what: 'Uint8Array x', kernel: 'channelStats', param: 'x', args: () => [new Uint8Array(12), { shape: [4, 3] }], cls: TypeError, message: 'expected x as a Float32Array or Float64Array, got Uint8Array(12)' },
  { what: 'plain array x', kernel: 'batchNormInfer', param: 'x', args: () => [[1, 2, 3, 4, 5, 6], { shape: [2, 3] }, stats3()], cls: TypeError, message: 'expected x as a Float32Array or Float64Array, got [1,2,3,4,5,6]' },
  { what: 'DataView x', kernel: 'batchNormTrain', param: 'x', args: () => [new DataView(new ArrayBuffer(48)), { shape: [4, 3] }], cls: TypeError, message: 'expected x as a Float32Array or Float64Array, got DataView(48)' },
  { what: 'DataView dy', kernel: 'batchNormBackward', param: 'dy', args: () => [new DataView(new ArrayBuffer(48)), f32(12), { shape: [4, 3] }, back3()], cls: TypeError, message: 'expected dy as a Float32Array (same dtype as x), got DataView(48)' },
  { what: 'Float64Array gamma with Float32Array x', kernel: 'batchNormTrain', param: 'gamma', args: () => [f32(12), { shape: [4, 3] }, { gamma: new Float64Array(3) }], cls: TypeError, message: 'expected gamma as a Float32Array (same dtype as x), got Float64Array(3)' },
  { what: 'Float32Array out with Float64Array x', kernel: 'batchNormInfer', param: 'out', args: () => [new Float64Array(12), { shape: [4, 3] }, { mean: new Float64Array(3), variance: new Float64Array(3), out: new Float32Array(12) }], cls: TypeError, message: 'expected out as a Float64Array (same dtype as x), got Float32Array(12)' },
  { what: 'Int32Array mean', kernel: 'batchNormInfer', param: 'mean', args: () => [f32(12), { shape: [4, 3] }, { mean: new Int32Array(3), variance: ones(3) }], cls: TypeError, message: 'expected mean as a Float32Array (same dtype as x), got Int32Array(3)' },
  // wrong length, mismatched per-channel lengths
  { what: 'x shorter than the layout', kernel: 'batchNormTrain', param: 'x', args: () => [f32(12), { shape: [4, 4] }], cls: RangeError, message: 'expected x of length 16, got length 12' },
  { what: 'dy of another length than x', kernel: 'batchNormBackward', param: 'dy', args: () => [f32(11), f32(12), { shape: [4, 3] }, back3()], cls: RangeError, message: 'expected dy of length 12, got length 11' },
  { what: 'beta of 4 for 3 channels', kernel: 'batchNormTrain', param: 'beta', args: () => [f32(12), { shape: [4, 3] }, { beta: f32(4) }], cls: RangeError, message: 'expected beta of length 3, got length 4' },
  { what: 'mean of 4 for 3 channels', kernel: 'batchNormInfer', param: 'mean', args: () => [f32(12), { shape: [4, 3] }, { mean: f32(4), variance: ones(3) }], cls: RangeError, message: 'expected mean of length 3, got length 4' },
  { what: 'variance of 2 for 3 channels', kernel: 'batchNormInfer', param: 'variance', args: () => [f32(12), { shape: [4, 3] }, { mean: f32(3), variance: ones(2) }], cls: RangeError, message: 'expected variance of length 3, got length 2' },
  { what: 'gamma of 2 for 3 channels', kernel: 'batchNormInfer', param: 'gamma', args: () => [f32(12), { shape: [4, 3] }, { ...stats3(), gamma: ones(2) }], cls: RangeError, message: 'expected gamma of length 3, got length 2' },
  { what: 'invStd of 1 for 3 channels', kernel: 'batchNormBackward', param: 'invStd', args: () => [f32(12), f32(12), { shape: [4, 3] }, { mean: f32(3), invStd: ones(1) }], cls: RangeError, message: 'expected invStd of length 3, got length 1' },
  { what: 'out.variance of 4', kernel: 'channelStats', param: 'out.variance', args: () => [f32(12), { shape: [4, 3] }, { out: { variance: f32(4) } }], cls: RangeError, message: 'expected out.variance of length 3, got length 4' },
  { what: 'out.dgamma of 2', kernel: 'batchNormBackward', param: 'out.dgamma', args: () => [f32(12), f32(12), { shape: [4, 3] }, { ...back3(), out: { dgamma: f32(2) } }], cls: RangeError, message: 'expected out.dgamma of length 3, got length 2' },
  // layout: axis out of range, rank, zero-size dimensions, bad explicit view
  { what: 'axis 2 on rank 2', kernel: 'batchNormTrain', param: 'layout.axis', args: () => [f32(12), { shape: [4, 3], axis: 2 }], cls: RangeError, message: 'expected layout.axis in [-2, 1] for input of rank 2, got 2' },
  { what: 'axis -3 on rank 2', kernel: 'channelStats', param: 'layout.axis', args: () => [f32(12), { shape: [4, 3], axis: -3 }], cls: RangeError, message: 'expected layout.axis in [-2, 1] for input of rank 2, got -3' },
  { what: 'non-adjacent axes', kernel: 'channelStats', param: 'layout.axis', args: () => [f32(24), { shape: [2, 3, 4], axis: [0, 2] }], cls: RangeError, message: 'expected adjacent channel axes in layout.axis, got [0,2]' },
  { what: 'fractional axis', kernel: 'channelStats', param: 'layout.axis', args: () => [f32(12), { shape: [4, 3], axis: 0.5 }], cls: TypeError, message: 'expected layout.axis as an integer or a non-empty array of integers, got 0.5' },
  { what: 'rank 0 (a scalar)', kernel: 'batchNormInfer', param: 'layout.shape', args: () => [f32(1), { shape: [] }, { mean: f32(1), variance: ones(1) }], cls: RangeError, message: 'expected layout.shape of rank >= 1, got []' },
  { what: 'zero-size dimension in shape', kernel: 'batchNormInfer', param: 'layout.shape', args: () => [new Float32Array(0), { shape: [0, 3] }, stats3()], cls: RangeError, message: 'expected layout.shape without zero-size dimensions, got [0,3]' },
  { what: 'zero-size channel dimension', kernel: 'channelStats', param: 'layout.shape', args: () => [new Float32Array(0), { shape: [4, 0] }], cls: RangeError, message: 'expected layout.shape without zero-size dimensions, got [4,0]' },
  { what: 'negative dimension', kernel: 'channelStats', param: 'layout.shape', args: () => [f32(12), { shape: [-4, 3] }], cls: RangeError, message: 'expected layout.shape as an array of non-negative integers, got [-4,3]' },
  { what: 'inner 0 in the explicit view', kernel: 'batchNormTrain', param: 'layout.inner', args: () => [f32(12), { outer: 4, channels: 3, inner: 0 }], cls: RangeError, message: 'expected layout.inner as a positive integer, got 0' },
  { what: 'fractional channels', kernel: 'channelStats', param: 'layout.channels', args: () => [f32(12), { outer: 4, channels: 2.5, inner: 1 }], cls: RangeError, message: 'expected layout.channels as a positive integer, got 2.5' },
  { what: 'layout null', kernel: 'channelStats', param: 'layout', args: () => [f32(12), null], cls: TypeError, message: 'expected layout as { outer, channels, inner } or { shape, axis }, got null' },
  // training needs two values per channel
  { what: 'one value per channel in training', kernel: 'batchNormTrain', param: 'channel', args: () => [f32(12), { shape: [1, 12] }], cls: RangeError, message: 'expected more than one value per channel in training mode, got 1' },
  // hyper-parameters
  { what: 'NaN epsilon', kernel: 'batchNormTrain', param: 'epsilon', args: () => [f32(12), { shape: [4, 3] }, { epsilon: NaN }], cls: RangeError, message: 'expected epsilon finite and > 0, got NaN' },
  { what: 'Infinity epsilon', kernel: 'batchNormInfer', param: 'epsilon', args: () => [f32(12), { shape: [4, 3] }, { ...stats3(), epsilon: Infinity }], cls: RangeError, message: 'expected epsilon finite and > 0, got Infinity' },
  { what: 'negative epsilon', kernel: 'batchNormInfer', param: 'epsilon', args: () => [f32(12), { shape: [4, 3] }, { ...stats3(), epsilon: -1e-3 }], cls: RangeError, message: 'expected epsilon finite and > 0, got -0.001' },
  { what: 'zero epsilon', kernel: 'batchNormTrain', param: 'epsilon', args: () => [f32(12), { shape: [4, 3] }, { epsilon: 0 }], cls: RangeError, message: 'expected epsilon finite and > 0, got 0' },
  { what: 'string epsilon', kernel: 'batchNormTrain', param: 'epsilon', args: () => [f32(12), { shape: [4, 3] }, { epsilon: '1e-3' }], cls: TypeError, message: 'expected epsilon as a number, got "1e-3"' },
  { what: 'non-boolean training', kernel: 'batchNormBackward', param: 'training', args: () => [f32(12), f32(12), { shape: [4, 3] }, { ...back3(), training: 1 }], cls: TypeError, message: 'expected training as a boolean, got 1' },
  { what: 'missing options', kernel: 'batchNormInfer', param: 'options', args: () => [f32(12), { shape: [4, 3] }], cls: TypeError, message: 'expected options with mean and variance, got undefined' },
  // outputs aliasing inputs (y === x in place is allowed where the kernel header says so; see the SharedArrayBuffer/aliasing tests below)
  { what: 'out.mean is gamma', kernel: 'batchNormTrain', param: 'out.mean', args: () => { const g = ones(3); return [f32(12), { shape: [4, 3] }, { gamma: g, out: { mean: g } }]; }, cls: RangeError, message: 'expected out.mean not to share memory with gamma, got overlapping arrays' },
  { what: 'out.mean is out.variance', kernel: 'batchNormTrain', param: 'out.mean', args: () => { const m = f32(3); return [f32(12), { shape: [4, 3] }, { out: { mean: m, variance: m } }]; }, cls: RangeError, message: 'expected out.mean not to share memory with out.variance, got overlapping arrays' },
  { what: 'out.y a shifted subarray of x\'s buffer', kernel: 'batchNormTrain', param: 'out.y', args: () => { const b = f32(16); return [b.subarray(0, 12), { shape: [4, 3] }, { out: { y: b.subarray(2, 14) } }]; }, cls: RangeError, message: 'expected out.y to be x itself (in place) or not to share memory with it, got a partial overlap' },
  { what: 'out overlapping mean in one buffer', kernel: 'batchNormInfer', param: 'out', args: () => { const b = f32(15); return [f32(12), { shape: [4, 3] }, { mean: b.subarray(12, 15), variance: ones(3), out: b.subarray(3, 15) }]; }, cls: RangeError, message: 'expected out not to share memory with mean, got overlapping arrays' },
  { what: 'out.dx is x', kernel: 'batchNormBackward', param: 'out.dx', args: () => { const x = f32(12); return [f32(12, 2), x, { shape: [4, 3] }, { ...back3(), out: { dx: x } }]; }, cls: RangeError, message: 'expected out.dx not to share memory with x, got overlapping arrays' },
  { what: 'out.dgamma overlapping out.dbeta', kernel: 'batchNormBackward', param: 'out.dgamma', args: () => { const b = f32(5); return [f32(12, 2), f32(12), { shape: [4, 3] }, { ...back3(), out: { dgamma: b.subarray(0, 3), dbeta: b.subarray(2, 5) } }]; }, cls: RangeError, message: 'expected out.dgamma not to share memory with out.dbeta, got overlapping arrays' },
  { what: 'out.variance inside x', kernel: 'channelStats', param: 'out.variance', args: () => { const x = f32(12); return [x, { shape: [4, 3] }, { out: { variance: x.subarray(3, 6) } }]; }, cls: RangeError, message: 'expected out.variance not to share memory with x, got overlapping arrays' },
  // detached (transferred) buffers
  { what: 'detached x', kernel: 'batchNormTrain', param: 'x', args: () => [detached(f32(12)), { shape: [4, 3] }], cls: TypeError, message: 'expected x backed by a live ArrayBuffer, got Float32Array over a detached ArrayBuffer' },
  { what: 'detached gamma', kernel: 'batchNormInfer', param: 'gamma', args: () => [f32(12), { shape: [4, 3] }, { ...stats3(), gamma: detached(ones(3)) }], cls: TypeError, message: 'expected gamma backed by a live ArrayBuffer, got Float32Array over a detached ArrayBuffer' },
  { what: 'detached out.y', kernel: 'batchNormTrain', param: 'out.y', args: () => [f32(12), { shape: [4, 3] }, { out: { y: detached(f32(12)) } }], cls: TypeError, message: 'expected out.y backed by a live ArrayBuffer, got Float32Array over a detached ArrayBuffer' },
  { what: 'detached invStd', kernel: 'batchNormBackward', param: 'invStd', args: () => [f32(12), f32(12), { shape: [4, 3] }, { mean: f32(3), invStd: detached(ones(3)) }], cls: TypeError, message: 'expected invStd backed by a live ArrayBuffer, got Float32Array over a detached ArrayBuffer' },
];

function arraysIn(args: unknown[]): FloatArray[] {
  const out: FloatArray[] = [];
  const visit = (v: unknown): void => {
    if (v instanceof Float32Array || v instanceof Float64Array) out.push(v);
    else if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !Array.isArray(v)) Object.values(v).forEach(visit);
  };
  args.forEach(visit);
  return out;
}

const rows: Row[] = [];
for (const k of kernelRows) {
  for (const suffix of ['', 'Async'] as const) {
    const api = `kernels.${k.kernel}${suffix}`;
    const args = k.args();
    const fn = (nk.kernels as unknown as Record<string, (...a: unknown[]) => unknown>)[`${k.kernel}${suffix}`];
    rows.push({ what: k.what, api, param: k.param, call: () => fn(...args), cls: k.cls, message: `${api}: ${k.message}`, subject: { arrays: arraysIn(args) } });
  }
}

// ---- the layer. Each row gets its own built layer so the snapshot is per row.
const layerRows = (): Row[] => {
  const api = 'BatchNormalization.apply';
  const list: Row[] = [];
  const add = (what: string, param: string, cls: ErrorClass, message: string, call: (net: nk.layers.BatchNormalization) => unknown, make = () => builtLayer()) => {
    const net = make();
    list.push({ what, api: message.slice(0, message.indexOf(':')), param, call: () => call(net), cls, message, subject: { layer: net } });
  };
  add('a different channel count after build', 'channels', RangeError, `${api}: expected input of rank 2 with 3 channels on axis -1, got shape [4,5]`, (n) => n.apply(nk.zeros([4, 5])));
  add('a different channel count after build (training)', 'channels', RangeError, `${api}: expected input of rank 2 with 3 channels on axis -1, got shape [4,2]`, (n) => n.apply(nk.zeros([4, 2]), { training: true }));
  add('a different rank after build', 'rank', RangeError, `${api}: expected input of rank 2 with 3 channels on axis -1, got shape [4,1,3]`, (n) => n.apply(nk.zeros([4, 1, 3]), { training: true }));
  add('rank 1 input', 'rank', RangeError, `${api}: expected input of rank >= 2, got shape [3]`, (n) => n.apply(nk.tensor([1, 2, 3]), { training: true }));
  add('rank 0 input', 'rank', RangeError, `${api}: expected input of rank >= 2, got shape []`, (n) => n.apply(5), () => new nk.layers.BatchNormalization());
  add('zero-size batch', 'zero-size', RangeError, `${api}: expected input without zero-size dimensions, got shape [0,3]`, (n) => n.apply(nk.zeros([0, 3]), { training: true }));
  add('zero-size batch before build', 'zero-size', RangeError, `${api}: expected input without zero-size dimensions, got shape [0,3]`, (n) => n.apply(nk.zeros([0, 3])), () => new nk.layers.BatchNormalization());
  add('one value per channel in training', 'channel', RangeError, `${api}: expected more than one value per channel in training mode, got shape [1,3] (1 value per channel)`, (n) => n.apply(nk.ones([1, 3]), { training: true }));
  add('axis 2 on rank 2 (first call)', 'axis', RangeError, `${api}: expected axis in [-2, 1] for input of rank 2, got 2`, (n) => n.apply(nk.zeros([4, 3])), () => new nk.layers.BatchNormalization({ axis: 2 }));
  add('axis -3 on rank 2 (first call)', 'axis', RangeError, `${api}: expected axis in [-2, 1] for input of rank 2, got -3`, (n) => n.apply(nk.zeros([4, 3]), { training: true }), () => new nk.layers.BatchNormalization({ axis: -3 }));
  add('Int32Array input', 'x', TypeError, `${api}: x: expected a number, nested arrays of numbers, or a Float32Array/Float64Array, got Int32Array(12)`, (n) => n.apply(new Int32Array(12) as never, { training: true }));
  add('DataView input', 'x', TypeError, `${api}: x: expected a number, nested arrays of numbers, or a Float32Array/Float64Array, got DataView(48)`, (n) => n.apply(new DataView(new ArrayBuffer(48)) as never));
  add('string in nested arrays', 'x', TypeError, `${api}: x: expected numbers in the nested arrays, got "a"`, (n) => n.apply([[1, 2, 'a'], [1, 2, 3]] as never, { training: true }));
  add('ragged nested arrays', 'x', RangeError, `${api}: x: expected a rectangular nested array (length 3 at depth 1), got [1,2]`, (n) => n.apply([[1, 2, 3], [1, 2]] as never, { training: true }));
  add('non-boolean training', 'training', TypeError, `${api}: expected options.training as a boolean, got "yes"`, (n) => n.apply(nk.zeros([4, 3]), { training: 'yes' as never }));
  add('options null', 'options', TypeError, `${api}: expected options as { training?: boolean }, got null`, (n) => n.apply(nk.zeros([4, 3]), null as never));
  add('mask of the wrong shape', 'options.mask', RangeError, `${api}: expected options.mask of shape [4] (the input's shape without the channel axes), got shape [3]`, (n) => n.apply(nk.ones([4, 3]), { training: true, mask: [1, 1, 0] }));
  add('detached input tensor', 'x', TypeError, `${api}: expected x backed by a live ArrayBuffer, got a float32 tensor of shape [4,3] over a detached ArrayBuffer`, (n) => n.apply(detachedTensor([4, 3]), { training: true }));
  add('detached input tensor (inference)', 'x', TypeError, `${api}: expected x backed by a live ArrayBuffer, got a float32 tensor of shape [4,3] over a detached ArrayBuffer`, (n) => n.apply(detachedTensor([4, 3])));
  add('setWeights with a wrong shape', 'values[3]', RangeError, `BatchNormalization.setWeights: expected values[3] of shape [3] for '${'$NAME'}/moving_variance:0', got a float32 tensor of shape [4]`, (n) => n.setWeights([nk.ones([3]), nk.ones([3]), nk.ones([3]), nk.ones([4])]));
  add('setWeights with too few weights', 'weights', RangeError, 'BatchNormalization.setWeights: expected 4 weights, got 3', (n) => n.setWeights([nk.ones([3]), nk.ones([3]), nk.ones([3])]));
  // A first call that fails after the build (training count, mask) rolls the build back:
  // the layer stays unbuilt, without variables, its input shape not fixed.
  for (const row of [
    ['one value per channel on the first call', 'channel', `${api}: expected more than one value per channel in training mode, got shape [1,3] (1 value per channel)`, (n: nk.layers.BatchNormalization) => n.apply(nk.ones([1, 3]), { training: true })],
    ['a bad mask on the first call', 'options.mask', `${api}: expected options.mask of shape [4] (the input's shape without the channel axes), got shape [3]`, (n: nk.layers.BatchNormalization) => n.apply(nk.ones([4, 3]), { training: true, mask: [1, 1, 0] })],
  ] as const) {
    add(row[0], row[1], RangeError, row[2], row[3], () => new nk.layers.BatchNormalization());
  }
  add('trainable set to a string', 'trainable', TypeError, 'BatchNormalization.trainable: expected a boolean, got "no"', (n) => { (n as { trainable: unknown }).trainable = 'no'; });
  // applyAsync rejects with the same checks.
  const apiA = 'BatchNormalization.applyAsync';
  add('applyAsync: a different channel count', 'channels', RangeError, `${apiA}: expected input of rank 2 with 3 channels on axis -1, got shape [4,5]`, (n) => n.applyAsync(nk.zeros([4, 5]), { training: true }));
  add('applyAsync: one value per channel in training', 'channel', RangeError, `${apiA}: expected more than one value per channel in training mode, got shape [1,3] (1 value per channel)`, (n) => n.applyAsync(nk.ones([1, 3]), { training: true }));
  add('applyAsync: detached input tensor', 'x', TypeError, `${apiA}: expected x backed by a live ArrayBuffer, got a float32 tensor of shape [4,3] over a detached ArrayBuffer`, (n) => n.applyAsync(detachedTensor([4, 3]), { training: true }));
  return list.map((r) => ({ ...r, message: r.message.replace('$NAME', r.subject!.layer!.name) }));
};
rows.push(...layerRows());

// ---- constructors of the layer and the optimizer: nothing to snapshot, the object never exists.
const ctor = (what: string, api: string, param: string, cls: ErrorClass, message: string, call: () => unknown): Row => ({ what, api, param, call, cls, message });
rows.push(
  ctor('momentum 1.5', 'BatchNormalization', 'momentum', RangeError, 'BatchNormalization: expected momentum in [0, 1], got 1.5', () => new nk.layers.BatchNormalization({ momentum: 1.5 })),
  ctor('momentum -0.1', 'BatchNormalization', 'momentum', RangeError, 'BatchNormalization: expected momentum in [0, 1], got -0.1', () => new nk.layers.BatchNormalization({ momentum: -0.1 })),
  ctor('momentum NaN', 'BatchNormalization', 'momentum', RangeError, 'BatchNormalization: expected momentum in [0, 1], got NaN', () => new nk.layers.BatchNormalization({ momentum: NaN })),
  ctor('epsilon NaN', 'BatchNormalization', 'epsilon', RangeError, 'BatchNormalization: expected epsilon finite and > 0, got NaN', () => new nk.layers.BatchNormalization({ epsilon: NaN })),
  ctor('epsilon Infinity', 'BatchNormalization', 'epsilon', RangeError, 'BatchNormalization: expected epsilon finite and > 0, got Infinity', () => new nk.layers.BatchNormalization({ epsilon: Infinity })),
  ctor('epsilon -1', 'BatchNormalization', 'epsilon', RangeError, 'BatchNormalization: expected epsilon finite and > 0, got -1', () => new nk.layers.BatchNormalization({ epsilon: -1 })),
  ctor('renormMomentum 2', 'BatchNormalization', 'renormMomentum', RangeError, 'BatchNormalization: expected renormMomentum in [0, 1], got 2', () => new nk.layers.BatchNormalization({ renorm: true, renormMomentum: 2 })),
  ctor('dtype int32', 'BatchNormalization', 'dtype', TypeError, `BatchNormalization: expected dtype 'float32' or 'float64', got "int32"`, () => new nk.layers.BatchNormalization({ dtype: 'int32' as never })),
  ctor('SGD learningRate NaN', 'SGD', 'learningRate', RangeError, 'SGD: expected learningRate finite and >= 0, got NaN', () => new nk.optimizers.SGD({ learningRate: NaN })),
  ctor('SGD learningRate Infinity', 'SGD', 'learningRate', RangeError, 'SGD: expected learningRate finite and >= 0, got Infinity', () => new nk.optimizers.SGD({ learningRate: Infinity })),
  ctor('SGD learningRate -0.1', 'SGD', 'learningRate', RangeError, 'SGD: expected learningRate finite and >= 0, got -0.1', () => new nk.optimizers.SGD({ learningRate: -0.1 })),
  ctor('SGD momentum 1.5', 'SGD', 'momentum', RangeError, 'SGD: expected momentum in [0, 1], got 1.5', () => new nk.optimizers.SGD({ momentum: 1.5 })),
  ctor('SGD momentum -1', 'SGD', 'momentum', RangeError, 'SGD: expected momentum in [0, 1], got -1', () => new nk.optimizers.SGD({ momentum: -1 })),
  ctor('SGD momentum NaN', 'SGD', 'momentum', RangeError, 'SGD: expected momentum in [0, 1], got NaN', () => new nk.optimizers.SGD({ momentum: NaN })),
);

// ---- the optimizer on a trained layer's variables: a bad pair anywhere changes nothing.
const optimizerRows = (): Row[] => {
  const list: Row[] = [];
  const add = (what: string, param: string, cls: ErrorClass, message: string | ((net: nk.layers.BatchNormalization) => string), call: (opt: nk.optimizers.SGD, net: nk.layers.BatchNormalization) => unknown, momentum = 0.9) => {
    const net = builtLayer();
    const opt = new nk.optimizers.SGD({ learningRate: 0.1, momentum });
    opt.applyGradients(nk.zip([nk.ones([3]), nk.ones([3])], net.trainableVariables)); // velocities exist
    const msg = typeof message === 'string' ? message : message(net);
    list.push({ what, api: msg.slice(0, msg.indexOf(':')), param, call: () => call(opt, net), cls, message: msg, subject: { layer: net, optimizer: opt } });
  };
  const api = 'SGD.applyGradients';
  add('learningRate set to NaN', 'learningRate', RangeError, 'SGD.learningRate: expected learningRate finite and >= 0, got NaN', (o) => { o.learningRate = NaN; });
  add('a gradient of the wrong shape after a good pair', 'gradient', RangeError, (n) => `${api}: expected a float32 gradient of shape [3] for '${n.name}/beta:0', got a float32 tensor of shape [4]`, (o, n) => o.applyGradients([[nk.ones([3]), n.gamma!], [nk.ones([4]), n.beta!]]));
  add('a float64 gradient for a float32 variable', 'gradient', RangeError, (n) => `${api}: expected a float32 gradient of shape [3] for '${n.name}/gamma:0', got a float64 tensor of shape [3]`, (o, n) => o.applyGradients([[nk.ones([3], 'float64'), n.gamma!]]));
  add('a gradient for a moving statistic', 'trainable variables', RangeError, (n) => `${api}: expected trainable variables, got '${n.name}/moving_mean:0' (trainable: false)`, (o, n) => o.applyGradients([[nk.ones([3]), n.gamma!], [nk.ones([3]), n.movingMean!]]));
  add('a Float32Array where a Tensor belongs', 'pairs[1][0]', TypeError, `${api}: expected pairs[1][0] as a Tensor or null, got Float32Array(3)`, (o, n) => o.applyGradients([[nk.ones([3]), n.gamma!], [ones(3) as never, n.beta!]]));
  add('a detached gradient after a good pair', 'gradient', RangeError, (n) => `${api}: expected gradient data of length 3 for '${n.name}/beta:0', got length 0 (detached buffer?)`, (o, n) => o.applyGradients([[nk.ones([3]), n.gamma!], [detachedTensor([3]), n.beta!]]));
  add('the same variable twice', 'each variable once', RangeError, (n) => `${api}: expected each variable once, got '${n.name}/gamma:0' twice`, (o, n) => o.applyGradients([[nk.ones([3]), n.gamma!], [nk.ones([3]), n.gamma!]]));
  add('pairs not iterable', 'pairs', TypeError, `${api}: expected an iterable of [gradient, variable] pairs, got 5`, (o) => o.applyGradients(5 as never));
  return list;
};
rows.push(...optimizerRows());

// ---- tape, Variable, tensor creation.
{
  const net = builtLayer();
  const x = nk.tensor(f32(12, 7), [4, 3]);
  const tape = new nk.GradientTape({ persistent: true });
  const loss = tape.record(() => nk.mean(nk.square(net.apply(x, { training: true }))));
  const stranger = new nk.Variable(nk.ones([3]), { name: 'stranger:0' });
  rows.push(
    { what: 'a variable the tape never saw', api: 'GradientTape.gradient', param: 'sources', cls: RangeError, message: `GradientTape.gradient: expected sources that this tape watched or recorded, got variable 'stranger:0' which it never saw`, call: () => tape.gradient(loss, [net.gamma!, stranger]), subject: { layer: net, variables: [stranger] } },
    { what: 'a moving statistic (never watched)', api: 'GradientTape.gradient', param: 'sources', cls: RangeError, message: `GradientTape.gradient: expected sources that this tape watched or recorded, got variable '${net.name}/moving_variance:0' which it never saw`, call: () => tape.gradient(loss, net.movingVariance!), subject: { layer: net } },
    { what: 'a number as target', api: 'GradientTape.gradient', param: 'target', cls: TypeError, message: 'GradientTape.gradient: expected target as a Tensor, got 1', call: () => tape.gradient(1 as never, net.gamma!) },
  );
}
{
  const v = new nk.Variable(nk.ones([3]), { name: 'v:0' });
  rows.push(
    { what: 'assign of another shape', api: 'Variable.assign', param: 'value', cls: RangeError, message: "Variable.assign: expected a value of shape [3] for variable 'v:0', got a float32 tensor of shape [4]", call: () => v.assign(nk.ones([4])), subject: { variables: [v] } },
    { what: 'assignSub of a detached tensor', api: 'Variable.assignSub', param: 'value', cls: TypeError, message: 'Variable.assignSub: expected value backed by a live ArrayBuffer, got a float32 tensor of shape [3] over a detached ArrayBuffer', call: () => v.assignSub(detachedTensor([3])), subject: { variables: [v] } },
    { what: 'Int32Array initial value', api: 'Variable', param: 'initialValue', cls: TypeError, message: 'Variable: initialValue: expected a number, nested arrays of numbers, or a Float32Array/Float64Array, got Int32Array(3)', call: () => new nk.Variable(new Int32Array(3) as never) },
    { what: 'dtype int32', api: 'Variable', param: 'dtype', cls: TypeError, message: `Variable: expected dtype 'float32' or 'float64', got "int32"`, call: () => new nk.Variable(nk.ones([3]), { dtype: 'int32' as never }) },
    { what: 'Uint8Array values', api: 'tensor', param: 'Float32Array/Float64Array', cls: TypeError, message: 'tensor: expected a number, nested arrays of numbers, or a Float32Array/Float64Array, got Uint8Array(4)', call: () => nk.tensor(new Uint8Array(4) as never) },
    { what: 'shape not matching the values', api: 'tensor', param: 'shape', cls: RangeError, message: 'tensor: expected 6 values for shape [2,3], got 4 values', call: () => nk.tensor([1, 2, 3, 4], [2, 3]) },
    { what: 'detached Float32Array values', api: 'tensor', param: 'values', cls: TypeError, message: 'tensor: expected values backed by a live ArrayBuffer, got Float32Array over a detached ArrayBuffer', call: () => nk.tensor(detached(f32(4))) },
    { what: 'negative dimension', api: 'zeros', param: 'shape', cls: RangeError, message: 'zeros: expected shape as an array of non-negative integers, got [2,-1]', call: () => nk.zeros([2, -1]) },
    { what: 'fractional dimension', api: 'ones', param: 'shape', cls: RangeError, message: 'ones: expected shape as an array of non-negative integers, got [1.5]', call: () => nk.ones([1.5]) },
    { what: 'NaN stddev', api: 'randomNormal', param: 'stddev', cls: RangeError, message: 'randomNormal: expected stddev as a finite number, got NaN', call: () => nk.randomNormal([2], { stddev: NaN }) },
  );
}

// ---- the raw binding: plain TypeError/RangeError, `<export>: expected <param> to ..., got ...`.
{
  const raw = (what: string, param: string, cls: ErrorClass, message: string, call: () => unknown, arrays: FloatArray[] = []): Row =>
    ({ what, api: message.slice(0, message.indexOf(':')), param, call, cls, message, raw: true, subject: { arrays } });
  const x = f32(12);
  const y = new Float32Array(12);
  const m = new Float32Array(3);
  const v = ones(3);
  const s = new Float32Array(3);
  const buf = f32(16);
  rows.push(
    raw('Int32Array x', 'x', TypeError, 'channelStats: expected x to be a Float32Array or Float64Array, got Int32Array(12)', () => native.channelStats(new Int32Array(12) as never, 4, 3, 1, m, v), [m, v]),
    raw('DataView x', 'x', TypeError, 'batchNormInfer: expected x to be a Float32Array or Float64Array, got a DataView', () => native.batchNormInfer(new DataView(new ArrayBuffer(48)) as never, 4, 3, 1, null, null, m, v, 1e-3, y), [m, v, y]),
    raw('plain array y', 'y', TypeError, 'batchNormInfer: expected y to be a Float32Array or Float64Array, got an Array', () => native.batchNormInfer(x, 4, 3, 1, null, null, m, v, 1e-3, [] as never), [x, m, v]),
    raw('Float64Array mean with Float32Array x', 'mean', TypeError, 'channelStats: expected mean to be a Float32Array like x, got Float64Array', () => native.channelStats(x, 4, 3, 1, new Float64Array(3), v), [x, v]),
    raw('x of the wrong length', 'x', RangeError, 'batchNormTrain: expected x to have length 16 (outer*channels*inner = 4*4*1), got 12', () => native.batchNormTrain(x, 4, 4, 1, null, null, 1e-3, new Float32Array(16), new Float32Array(4), new Float32Array(4), new Float32Array(4)), [x]),
    raw('gamma of 4 for 3 channels', 'gamma', RangeError, 'batchNormInfer: expected gamma to have length 3 (channels), got 4', () => native.batchNormInfer(x, 4, 3, 1, ones(4), null, m, v, 1e-3, y), [x, m, v, y]),
    raw('variance of 2 for 3 channels', 'variance', RangeError, 'batchNormInfer: expected variance to have length 3 (channels), got 2', () => native.batchNormInfer(x, 4, 3, 1, null, null, m, ones(2), 1e-3, y), [x, m, y]),
    raw('zero outer', 'outer', RangeError, 'channelStats: expected outer to be a positive safe integer, got 0', () => native.channelStats(new Float32Array(0), 0, 3, 1, m, v), [m, v]),
    raw('fractional inner', 'inner', RangeError, 'channelStats: expected inner to be a positive safe integer, got 1.5', () => native.channelStats(x, 4, 3, 1.5, m, v), [x, m, v]),
    raw('string channels', 'channels', TypeError, 'channelStats: expected channels to be a positive safe integer, got "3"', () => native.channelStats(x, 4, '3' as never, 1, m, v), [x, m, v]),
    raw('sizes overflowing 64 bits', 'outer*channels*inner', RangeError, 'channelStats: expected outer*channels*inner to fit in 64 bits, got 1099511627776*1099511627776*1099511627776', () => native.channelStats(x, 2 ** 40, 2 ** 40, 2 ** 40, m, v), [x, m, v]),
    raw('NaN epsilon', 'epsilon', RangeError, 'batchNormInfer: expected epsilon to be a finite number > 0, got NaN', () => native.batchNormInfer(x, 4, 3, 1, null, null, m, v, NaN, y), [x, m, v, y]),
    raw('negative epsilon', 'epsilon', RangeError, 'batchNormTrain: expected epsilon to be a finite number > 0, got -1', () => native.batchNormTrain(x, 4, 3, 1, null, null, -1, y, m, v, s), [x, y, m, v, s]),
    raw('Infinity epsilon', 'epsilon', RangeError, 'batchNormTrain: expected epsilon to be a finite number > 0, got Infinity', () => native.batchNormTrain(x, 4, 3, 1, null, null, Infinity, y, m, v, s), [x, y, m, v, s]),
    raw('non-boolean training', 'training', TypeError, 'batchNormBackward: expected training to be a boolean, got 1', () => native.batchNormBackward(x, x, 4, 3, 1, null, m, v, 1 as never, y, null, null), [x, m, v, y]),
    raw('mean === variance (outputs aliasing)', 'mean', RangeError, 'channelStats: expected mean not to share memory with variance, got overlapping arrays', () => native.channelStats(x, 4, 3, 1, m, m), [x, m]),
    raw('y partially overlapping x', 'y', RangeError, 'batchNormTrain: expected y to be x itself (in place) or not to share memory with it, got a partial overlap', () => native.batchNormTrain(buf.subarray(0, 12), 4, 3, 1, null, null, 1e-3, buf.subarray(4, 16), m, v, s), [buf, m, v, s]),
    raw('y overlapping the mean input', 'y', RangeError, 'batchNormInfer: expected y not to share memory with mean, got overlapping arrays', () => { const b = f32(15); return native.batchNormInfer(x, 4, 3, 1, null, null, b.subarray(0, 3), v, 1e-3, b.subarray(2, 14)); }, [x, v]),
    raw('dx === x (backward)', 'dx', RangeError, 'batchNormBackward: expected dx not to share memory with x, got overlapping arrays', () => native.batchNormBackward(f32(12, 2), x, 4, 3, 1, null, m, v, true, x, null, null), [x, m, v]),
    raw('detached x', 'x', TypeError, 'channelStats: expected x to be backed by a live ArrayBuffer, got Float32Array over a detached ArrayBuffer', () => native.channelStats(detached(f32(12)), 4, 3, 1, m, v), [m, v]),
    raw('detached mean output', 'mean', TypeError, 'channelStats: expected mean to be backed by a live ArrayBuffer, got Float32Array over a detached ArrayBuffer', () => native.channelStats(x, 4, 3, 1, detached(f32(3)), v), [x, v]),
    raw('sgdUpdate NaN learning rate', 'learningRate', RangeError, 'sgdUpdate: expected learningRate to be a finite number, got NaN', () => native.sgdUpdate(v, ones(3), null, NaN, 0, false), [v]),
    raw('sgdUpdate NaN momentum', 'momentum', RangeError, 'sgdUpdate: expected momentum to be a finite number, got NaN', () => native.sgdUpdate(v, ones(3), new Float32Array(3), 0.1, NaN, false), [v]),
    raw('sgdUpdate grad of another length', 'grad', RangeError, 'sgdUpdate: expected grad to have length 3 (variable.length), got 4', () => native.sgdUpdate(v, ones(4), null, 0.1, 0, false), [v]),
    raw('sgdUpdate grad === variable', 'variable', RangeError, 'sgdUpdate: expected variable not to share memory with grad, got overlapping arrays', () => native.sgdUpdate(v, v, null, 0.1, 0, false), [v]),
    raw('sgdUpdate detached grad', 'grad', TypeError, 'sgdUpdate: expected grad to be backed by a live ArrayBuffer, got Float32Array over a detached ArrayBuffer', () => native.sgdUpdate(v, detached(ones(3)), null, 0.1, 0, false), [v]),
    raw('async export, Int32Array x (rejects)', 'x', TypeError, 'channelStatsAsync: expected x to be a Float32Array or Float64Array, got Int32Array(12)', () => native.channelStatsAsync(new Int32Array(12) as never, 4, 3, 1, m, v), [m, v]),
    raw('async export, detached y (rejects)', 'y', TypeError, 'batchNormTrainAsync: expected y to be backed by a live ArrayBuffer, got Float32Array over a detached ArrayBuffer', () => native.batchNormTrainAsync(x, 4, 3, 1, null, null, 1e-3, detached(f32(12)), m, v, s), [x, m, v, s]),
  );
}

/** Calls `fn`; a synchronous throw or a rejected promise is the error. Async exports must never throw synchronously. */
async function failure(fn: () => unknown, isAsync: boolean): Promise<unknown> {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    if (isAsync) expect.fail(`an Async entry point threw synchronously: ${(e as Error).message}`);
    return e;
  }
  if (!(result instanceof Promise)) expect.fail('expected a throw');
  try {
    await result;
  } catch (e) {
    return e;
  }
  return expect.fail('expected the promise to reject');
}

describe('bad input through every entry point (reliability contract)', () => {
  for (const row of rows) {
    // it.fails: the row documents a reported bug (see knownBug); it fails on purpose until fixed.
    (row.knownBug ? it.fails : it)(`${row.api}: ${row.what}${row.knownBug ? ` [known bug: ${row.knownBug}]` : ''}`, async () => {
      const before = row.subject ? snapshot(row.subject) : undefined;
      const e = await failure(row.call, /Async$/.test(row.api));
      expect(e).toBeInstanceOf(row.cls);
      expect((e as Error).message).toBe(row.message);
      // The house form, and the parameter named.
      expect((e as Error).message.startsWith(`${row.api}: `)).toBe(true);
      expect((e as Error).message).toMatch(/: expected .+, got .+$/s);
      expect((e as Error).message).toContain(row.param);
      if (!row.raw) expect(CODES).toContain((e as { code?: string }).code);
      if (row.subject) expect(snapshot(row.subject)).toEqual(before);
    });
  }
});

// ---- not bad input: SharedArrayBuffer-backed arrays work and give the numbers ordinary buffers give;
// exact in-place calls (y is x, dx is dy) are allowed by the kernel headers.
function shared<T extends FloatArray>(a: T): T {
  const C = a.constructor as { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };
  const out = new C(new SharedArrayBuffer(a.length * C.BYTES_PER_ELEMENT));
  out.set(a);
  return out;
}
const same = (a: ArrayLike<number>, b: ArrayLike<number>) => expect(Array.from(a)).toEqual(Array.from(b));

describe('SharedArrayBuffer-backed inputs and outputs work', () => {
  const layout = { shape: [6, 5, 7], axis: 1 };
  for (const Arr of [Float32Array, Float64Array]) {
    it(`nk.kernels.* sync and Async (${Arr.name})`, async () => {
      const x = Arr.from(uniform(210, 11, -2, 3));
      const gamma = Arr.from(uniform(5, 12, 0.5, 2));
      const beta = Arr.from(uniform(5, 13));
      const dy = Arr.from(uniform(210, 14));
      const ref = nk.kernels.batchNormTrain(x, layout, { gamma, beta });
      const sx = shared(x);
      const out = { y: shared(new Arr(210)), mean: shared(new Arr(5)), variance: shared(new Arr(5)), invStd: shared(new Arr(5)) };
      const got = nk.kernels.batchNormTrain(sx, layout, { gamma: shared(gamma), beta: shared(beta), out });
      expect(got.y).toBe(out.y);
      for (const k of ['y', 'mean', 'variance', 'invStd'] as const) same(got[k], ref[k]);
      const gotAsync = await nk.kernels.batchNormTrainAsync(sx, layout, { gamma: shared(gamma), beta: shared(beta) });
      for (const k of ['y', 'mean', 'variance', 'invStd'] as const) same(gotAsync[k], ref[k]);
      same(x, sx); // input untouched
      const inferRef = nk.kernels.batchNormInfer(x, layout, { mean: ref.mean, variance: ref.variance, gamma, beta });
      same(nk.kernels.batchNormInfer(sx, layout, { mean: shared(ref.mean), variance: shared(ref.variance), gamma: shared(gamma), beta: shared(beta), out: shared(new Arr(210)) }), inferRef);
      same(await nk.kernels.batchNormInferAsync(sx, layout, { mean: shared(ref.mean), variance: shared(ref.variance), gamma, beta }), inferRef);
      const backRef = nk.kernels.batchNormBackward(dy, x, layout, { mean: ref.mean, invStd: ref.invStd, gamma });
      const back = await nk.kernels.batchNormBackwardAsync(shared(dy), sx, layout, { mean: shared(ref.mean), invStd: shared(ref.invStd), gamma: shared(gamma) });
      for (const k of ['dx', 'dgamma', 'dbeta'] as const) same(back[k], backRef[k]);
      const statsRef = nk.kernels.channelStats(x, layout);
      const stats = await nk.kernels.channelStatsAsync(sx, layout, { out: { mean: shared(new Arr(5)), variance: shared(new Arr(5)) } });
      same(stats.mean, statsRef.mean);
      same(stats.variance, statsRef.variance);
    });
  }

  it('the raw binding', async () => {
    const x = f32(24, 21);
    const [m1, v1, m2, v2] = [new Float32Array(4), new Float32Array(4), shared(new Float32Array(4)), shared(new Float32Array(4))];
    native.channelStats(x, 2, 4, 3, m1, v1);
    native.channelStats(shared(x), 2, 4, 3, m2, v2);
    same(m2, m1);
    same(v2, v1);
    const y1 = new Float32Array(24);
    const y2 = shared(new Float32Array(24));
    native.batchNormInfer(x, 2, 4, 3, null, null, m1, v1, 1e-3, y1);
    await native.batchNormInferAsync(shared(x), 2, 4, 3, null, null, m2, v2, 1e-3, y2);
    same(y2, y1);
  });

  it('the layer (apply, applyAsync, training) and the optimizer', async () => {
    const data = f32(4 * 5 * 3, 22);
    const a = new nk.layers.BatchNormalization({ momentum: 0.5 });
    const b = new nk.layers.BatchNormalization({ momentum: 0.5 });
    const xa = nk.tensor(data, [4, 5, 3]);
    const xb = new nk.Tensor(shared(data), [4, 5, 3]);
    same(b.apply(xb, { training: true }).data, a.apply(xa, { training: true }).data);
    same((await b.applyAsync(xb, { training: true })).data, (await a.applyAsync(xa, { training: true })).data);
    same((await b.applyAsync(xb)).data, a.apply(xa).data);
    const g = f32(3, 23);
    new nk.optimizers.SGD({ learningRate: 0.1 }).applyGradients([[nk.tensor(g), a.gamma!]]);
    new nk.optimizers.SGD({ learningRate: 0.1 }).applyGradients([[new nk.Tensor(shared(g), [3]), b.gamma!]]);
    expect(b.getWeights().map((w) => Array.from(w.data))).toEqual(a.getWeights().map((w) => Array.from(w.data)));
  });
});

describe('exact in-place calls are allowed', () => {
  it('kernels: out.y is x (train, infer), out.dx is dy (backward); raw binding likewise', async () => {
    const layout = { shape: [8, 3] };
    const x = f32(24, 31);
    const ref = nk.kernels.batchNormTrain(x, layout);
    const inPlace = x.slice();
    expect(nk.kernels.batchNormTrain(inPlace, layout, { out: { y: inPlace } }).y).toBe(inPlace);
    same(inPlace, ref.y);
    const inferRef = nk.kernels.batchNormInfer(x, layout, { mean: ref.mean, variance: ref.variance });
    const inPlace2 = x.slice();
    await nk.kernels.batchNormInferAsync(inPlace2, layout, { mean: ref.mean, variance: ref.variance, out: inPlace2 });
    same(inPlace2, inferRef);
    const dy = f32(24, 32);
    const backRef = nk.kernels.batchNormBackward(dy, x, layout, { mean: ref.mean, invStd: ref.invStd });
    const dyInPlace = dy.slice();
    nk.kernels.batchNormBackward(dyInPlace, x, layout, { mean: ref.mean, invStd: ref.invStd, out: { dx: dyInPlace } });
    same(dyInPlace, backRef.dx);
    const raw = x.slice();
    native.batchNormInfer(raw, 8, 3, 1, null, null, ref.mean, ref.variance, 1e-3, raw);
    same(raw, inferRef);
  });
});

describe('aliasing through the optimizer', () => {
  // A gradient that is another variable's value (`[b.read(), a]`) is taken as it was when
  // applyGradients was called, as TF/Keras do, even when that variable is updated first:
  // a gets 1 - 0.5 * 10 = -4 (not 1 - 0.5 * 9).
  it('a gradient that is another variable of the same call uses that variable\'s value before the step', () => {
    const a = new nk.Variable(nk.tensor([1, 1]), { name: 'a:0' });
    const b = new nk.Variable(nk.tensor([10, 10]), { name: 'b:0' });
    new nk.optimizers.SGD({ learningRate: 0.5 }).applyGradients([[nk.tensor([2, 2]), b], [b.read(), a]]);
    expect(b.toArray()).toEqual([9, 9]);
    expect(a.toArray()).toEqual([-4, -4]);
  });

  it('a gradient that is the variable itself is read before the step', () => {
    const a = new nk.Variable(nk.tensor([2, 4]), { name: 'a:0' });
    new nk.optimizers.SGD({ learningRate: 0.5 }).applyGradients([[a.read(), a]]);
    expect(a.toArray()).toEqual([1, 2]);
  });
});
