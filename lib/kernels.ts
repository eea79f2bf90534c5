/**
 * The zero-copy kernel API: batch normalization on typed arrays, for
 * services and hot loops. Every function takes optional output buffers, so a
 * steady-state loop allocates nothing; each has an `...Async` twin that runs
 * on the libuv thread pool and keeps the event loop free.
 *
 * The data layout is given either as `{ outer, channels, inner }` (the view
 * of native/kernels/layout.h) or as `{ shape, axis }` (axis default -1).
 */
import { allocate, dtypeOf, isDetached, type DType, type FloatArray } from './dtype.js';
import { rangeError, typeError } from './errors.js';
import { axesAreAdjacent, channelLayout, resolveAxes, type ChannelLayout } from './layout.js';
import { native } from './native.js';
import { shapeSize } from './tensor.js';

/** A data layout: the explicit view, or a shape and its channel axis. */
export type KernelLayout = ChannelLayout | { shape: readonly number[]; axis?: number | readonly number[] };

/** Options of {@link batchNormTrain}. */
export interface BatchNormTrainOptions {
  gamma?: FloatArray | null;
  beta?: FloatArray | null;
  /** Default 1e-3 (Keras). */
  epsilon?: number;
  out?: { y?: FloatArray; mean?: FloatArray; variance?: FloatArray; invStd?: FloatArray };
}
/** Result of {@link batchNormTrain}. */
export interface BatchNormTrainOutput {
  y: FloatArray;
  mean: FloatArray;
  variance: FloatArray;
  invStd: FloatArray;
}
/** Options of {@link batchNormInfer}. */
export interface BatchNormInferOptions {
  mean: FloatArray;
  variance: FloatArray;
  gamma?: FloatArray | null;
  beta?: FloatArray | null;
  epsilon?: number;
  out?: FloatArray;
}
/** Options of {@link batchNormBackward}. */
export interface BatchNormBackwardOptions {
  /** The mean and inverse std the forward used (from batchNormTrain, or frozen statistics). */
  mean: FloatArray;
  invStd: FloatArray;
  gamma?: FloatArray | null;
  /** true (default): gradient through the batch statistics; false: statistics are constants. */
  training?: boolean;
  out?: { dx?: FloatArray; dgamma?: FloatArray; dbeta?: FloatArray };
}
/** Result of {@link batchNormBackward}. */
export interface BatchNormBackwardOutput {
  dx: FloatArray;
  dgamma: FloatArray;
  dbeta: FloatArray;
}
/** Options of {@link channelStats}. */
export interface ChannelStatsOptions {
  out?: { mean?: FloatArray; variance?: FloatArray };
}
/** Result of {@link channelStats}. */
export interface ChannelStatsOutput {
  mean: FloatArray;
  variance: FloatArray;
}

function resolveLayout(layout: KernelLayout, api: string): ChannelLayout {
  if (typeof layout !== 'object' || layout === null) throw typeError(api, 'layout as { outer, channels, inner } or { shape, axis }', layout);
  if ('shape' in layout) {
    shapeSize(layout.shape, api, 'layout.shape');
    if (layout.shape.length === 0) throw rangeError(api, 'layout.shape of rank >= 1', '[]', true);
    if (layout.shape.includes(0)) throw rangeError(api, 'layout.shape without zero-size dimensions', `[${layout.shape.join(',')}]`, true);
    const axes = resolveAxes(layout.axis ?? -1, layout.shape.length, api, 'layout.axis');
    if (!axesAreAdjacent(axes)) throw rangeError(api, 'adjacent channel axes in layout.axis', `[${axes.join(',')}]`, true);
    return channelLayout(layout.shape, axes);
  }
  const { outer, channels, inner } = layout;
  checkDim(outer, api, 'outer');
  checkDim(channels, api, 'channels');
  checkDim(inner, api, 'inner');
  return { outer, channels, inner };
}

function checkDim(v: unknown, api: string, name: string): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw rangeError(api, `layout.${name} as a positive integer`, v);
}

function dtypeOfData(x: unknown, api: string, param: string): DType {
  const d = dtypeOf(x);
  if (d === undefined) throw typeError(api, `${param} as a Float32Array or Float64Array`, x);
  return d;
}

function checkArray(a: unknown, dtype: DType, length: number, api: string, param: string): FloatArray {
  const d = dtypeOf(a);
  if (d !== dtype) throw typeError(api, `${param} as a ${dtype === 'float32' ? 'Float32Array' : 'Float64Array'} (same dtype as x)`, a);
  if (isDetached(a as FloatArray)) {
    throw typeError(api, `${param} backed by a live ArrayBuffer`, `${(a as FloatArray).constructor.name} over a detached ArrayBuffer`, true);
  }
  if ((a as FloatArray).length !== length) throw rangeError(api, `${param} of length ${length}`, `length ${(a as FloatArray).length}`, true);
  return a as FloatArray;
}

function optionalArray(a: FloatArray | null | undefined, dtype: DType, length: number, api: string, param: string): FloatArray | null {
  return a === undefined || a === null ? null : checkArray(a, dtype, length, api, param);
}

function outArray(a: FloatArray | undefined, dtype: DType, length: number, api: string, param: string): FloatArray {
  return a === undefined ? allocate(dtype, length) : checkArray(a, dtype, length, api, param);
}

function overlaps(a: FloatArray, b: FloatArray): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * Outputs share memory with no input and no other output, except `inPlace`
 * (output index, input index: an output that may be exactly that input, same
 * offset and length). The binding checks this again for direct callers; here
 * the message names the kernel API's own parameters. Same order as
 * native/binding/args.h NoOverlap. Names are module constants and nothing is
 * allocated unless an overlap is found: this runs on every call.
 */
function checkDisjoint(
  api: string,
  outNames: readonly string[],
  outs: readonly (FloatArray | null)[],
  inNames: readonly string[],
  ins: readonly (FloatArray | null)[],
  inPlace = -1,
): void {
  // Fast path: reading `.buffer` is the costly part, so read each once and
  // compare identities; distinct buffers cannot overlap.
  const outBufs = outs.map((a) => (a === null ? null : a.buffer));
  const inBufs = ins.map((a) => (a === null ? null : a.buffer));
  let shared = false;
  for (let i = 0; i < outBufs.length && !shared; i++) {
    const b = outBufs[i];
    if (b === null) continue;
    for (let j = i + 1; j < outBufs.length && !shared; j++) shared = outBufs[j] === b;
    for (let j = 0; j < inBufs.length && !shared; j++) shared = inBufs[j] === b;
  }
  if (!shared) return;
  for (let i = 0; i < outs.length; i++) {
    const o = outs[i];
    if (o === null) continue;
    for (let j = i + 1; j < outs.length; j++) {
      const p = outs[j];
      if (p !== null && overlaps(o, p)) throw rangeError(api, `${outNames[i]} not to share memory with ${outNames[j]}`, 'overlapping arrays', true);
    }
    for (let j = 0; j < ins.length; j++) {
      const input = ins[j];
      if (input === null || !overlaps(o, input)) continue;
      if (i === 0 && j === inPlace) {
        if (o.byteOffset === input.byteOffset && o.byteLength === input.byteLength) continue;
        throw rangeError(api, `${outNames[i]} to be ${inNames[j]} itself (in place) or not to share memory with it`, 'a partial overlap', true);
      }
      throw rangeError(api, `${outNames[i]} not to share memory with ${inNames[j]}`, 'overlapping arrays', true);
    }
  }
}

const TRAIN_OUTS = ['out.y', 'out.mean', 'out.variance', 'out.invStd'] as const;
const TRAIN_INS = ['x', 'gamma', 'beta'] as const;
const INFER_OUTS = ['out'] as const;
const INFER_INS = ['x', 'gamma', 'beta', 'mean', 'variance'] as const;
const BACKWARD_OUTS = ['out.dx', 'out.dgamma', 'out.dbeta'] as const;
const BACKWARD_INS = ['dy', 'x', 'gamma', 'mean', 'invStd'] as const;
const STATS_OUTS = ['out.mean', 'out.variance'] as const;
const STATS_INS = ['x'] as const;

function checkEpsilon(epsilon: unknown, api: string): number {
  if (typeof epsilon !== 'number') throw typeError(api, 'epsilon as a number', epsilon);
  if (!(epsilon > 0 && Number.isFinite(epsilon))) throw rangeError(api, 'epsilon finite and > 0', epsilon);
  return epsilon;
}

function options<T>(o: T | undefined, api: string): T | Record<string, never> {
  if (o === undefined) return {};
  if (typeof o !== 'object' || o === null) throw typeError(api, 'an options object', o);
  return o;
}

type TrainArgs = Parameters<typeof native.batchNormTrain>;
function prepareTrain(x: FloatArray, layout: KernelLayout, opts: BatchNormTrainOptions | undefined, api: string): [TrainArgs, BatchNormTrainOutput] {
  const dtype = dtypeOfData(x, api, 'x');
  const { outer, channels, inner } = resolveLayout(layout, api);
  const n = outer * channels * inner;
  checkArray(x, dtype, n, api, 'x');
  if (outer * inner < 2) throw rangeError(api, 'more than one value per channel in training mode', `${outer * inner}`, true);
  const o = options(opts, api) as BatchNormTrainOptions;
  const out = options(o.out, api) as NonNullable<BatchNormTrainOptions['out']>;
  const gamma = optionalArray(o.gamma, dtype, channels, api, 'gamma');
  const beta = optionalArray(o.beta, dtype, channels, api, 'beta');
  const epsilon = checkEpsilon(o.epsilon ?? 1e-3, api);
  const result = {
    y: outArray(out.y, dtype, n, api, 'out.y'),
    mean: outArray(out.mean, dtype, channels, api, 'out.mean'),
    variance: outArray(out.variance, dtype, channels, api, 'out.variance'),
    invStd: outArray(out.invStd, dtype, channels, api, 'out.invStd'),
  };
  // Only caller-given outputs can overlap anything (fresh ones cannot), and reading `.buffer` of a
  // fresh small array would move it off V8's heap: pass null for those.
  checkDisjoint(api, TRAIN_OUTS, [out.y ?? null, out.mean ?? null, out.variance ?? null, out.invStd ?? null], TRAIN_INS, [x, gamma, beta], 0);
  return [[x, outer, channels, inner, gamma, beta, epsilon, result.y, result.mean, result.variance, result.invStd], result];
}

type InferArgs = Parameters<typeof native.batchNormInfer>;
function prepareInfer(x: FloatArray, layout: KernelLayout, opts: BatchNormInferOptions, api: string): [InferArgs, FloatArray] {
  const dtype = dtypeOfData(x, api, 'x');
  const { outer, channels, inner } = resolveLayout(layout, api);
  const n = outer * channels * inner;
  checkArray(x, dtype, n, api, 'x');
  if (typeof opts !== 'object' || opts === null) throw typeError(api, 'options with mean and variance', opts);
  const mean = checkArray(opts.mean, dtype, channels, api, 'mean');
  const variance = checkArray(opts.variance, dtype, channels, api, 'variance');
  const gamma = optionalArray(opts.gamma, dtype, channels, api, 'gamma');
  const beta = optionalArray(opts.beta, dtype, channels, api, 'beta');
  const epsilon = checkEpsilon(opts.epsilon ?? 1e-3, api);
  const y = outArray(opts.out, dtype, n, api, 'out');
  checkDisjoint(api, INFER_OUTS, [opts.out ?? null], INFER_INS, [x, gamma, beta, mean, variance], 0);
  return [[x, outer, channels, inner, gamma, beta, mean, variance, epsilon, y], y];
}

type BackwardArgs = Parameters<typeof native.batchNormBackward>;
function prepareBackward(
  dy: FloatArray,
  x: FloatArray,
  layout: KernelLayout,
  opts: BatchNormBackwardOptions,
  api: string,
): [BackwardArgs, BatchNormBackwardOutput] {
  const dtype = dtypeOfData(x, api, 'x');
  const { outer, channels, inner } = resolveLayout(layout, api);
  const n = outer * channels * inner;
  checkArray(x, dtype, n, api, 'x');
  checkArray(dy, dtype, n, api, 'dy');
  if (typeof opts !== 'object' || opts === null) throw typeError(api, 'options with mean and invStd', opts);
  const mean = checkArray(opts.mean, dtype, channels, api, 'mean');
  const invStd = checkArray(opts.invStd, dtype, channels, api, 'invStd');
  const gamma = optionalArray(opts.gamma, dtype, channels, api, 'gamma');
  const training = opts.training ?? true;
  if (typeof training !== 'boolean') throw typeError(api, 'training as a boolean', training);
  const out = options(opts.out, api) as NonNullable<BatchNormBackwardOptions['out']>;
  const result = {
    dx: outArray(out.dx, dtype, n, api, 'out.dx'),
    dgamma: outArray(out.dgamma, dtype, channels, api, 'out.dgamma'),
    dbeta: outArray(out.dbeta, dtype, channels, api, 'out.dbeta'),
  };
  checkDisjoint(api, BACKWARD_OUTS, [out.dx ?? null, out.dgamma ?? null, out.dbeta ?? null], BACKWARD_INS, [dy, x, gamma, mean, invStd], 0);
  return [[dy, x, outer, channels, inner, gamma, mean, invStd, training, result.dx, result.dgamma, result.dbeta], result];
}

type StatsArgs = Parameters<typeof native.channelStats>;
function prepareStats(x: FloatArray, layout: KernelLayout, opts: ChannelStatsOptions | undefined, api: string): [StatsArgs, ChannelStatsOutput] {
  const dtype = dtypeOfData(x, api, 'x');
  const { outer, channels, inner } = resolveLayout(layout, api);
  checkArray(x, dtype, outer * channels * inner, api, 'x');
  const out = options(options(opts, api).out, api) as NonNullable<ChannelStatsOptions['out']>;
  const result = {
    mean: outArray(out.mean, dtype, channels, api, 'out.mean'),
    variance: outArray(out.variance, dtype, channels, api, 'out.variance'),
  };
  checkDisjoint(api, STATS_OUTS, [out.mean ?? null, out.variance ?? null], STATS_INS, [x]);
  return [[x, outer, channels, inner, result.mean, result.variance], result];
}

/**
 * Training-mode forward: batch statistics and the normalized output.
 * @param x input values, layout given by `layout`
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts gamma, beta (null/absent = 1/0), epsilon (1e-3), optional `out` buffers
 * @returns y, per-channel mean, biased variance and invStd (= 1/sqrt(variance + epsilon))
 * @throws {TypeError} for non-float arrays or mixed dtypes; {RangeError} for bad lengths, layout or epsilon
 * @example
 * const { y, mean, variance } = nk.kernels.batchNormTrain(x, { shape: [32, 64] });
 */
export function batchNormTrain(x: FloatArray, layout: KernelLayout, opts?: BatchNormTrainOptions): BatchNormTrainOutput {
  const [args, result] = prepareTrain(x, layout, opts, 'kernels.batchNormTrain');
  native.batchNormTrain(...args);
  return result;
}

/** {@link batchNormTrain} on the libuv pool; inputs must not be modified until it resolves. */
export async function batchNormTrainAsync(x: FloatArray, layout: KernelLayout, opts?: BatchNormTrainOptions): Promise<BatchNormTrainOutput> {
  const [args, result] = prepareTrain(x, layout, opts, 'kernels.batchNormTrainAsync');
  await native.batchNormTrainAsync(...args);
  return result;
}

/**
 * Inference forward with given statistics:
 * `y = (x - mean) / sqrt(variance + epsilon) * gamma + beta`.
 * @example
 * const y = nk.kernels.batchNormInfer(x, { shape: [32, 64] }, { mean, variance });
 */
export function batchNormInfer(x: FloatArray, layout: KernelLayout, opts: BatchNormInferOptions): FloatArray {
  const [args, y] = prepareInfer(x, layout, opts, 'kernels.batchNormInfer');
  native.batchNormInfer(...args);
  return y;
}

/** {@link batchNormInfer} on the libuv pool. */
export async function batchNormInferAsync(x: FloatArray, layout: KernelLayout, opts: BatchNormInferOptions): Promise<FloatArray> {
  const [args, y] = prepareInfer(x, layout, opts, 'kernels.batchNormInferAsync');
  await native.batchNormInferAsync(...args);
  return y;
}

/**
 * Backward pass: dx, dgamma = sum(dy * xhat), dbeta = sum(dy).
 * @example
 * const f = nk.kernels.batchNormTrain(x, layout);
 * const { dx, dgamma, dbeta } = nk.kernels.batchNormBackward(dy, x, layout, { mean: f.mean, invStd: f.invStd });
 */
export function batchNormBackward(dy: FloatArray, x: FloatArray, layout: KernelLayout, opts: BatchNormBackwardOptions): BatchNormBackwardOutput {
  const [args, result] = prepareBackward(dy, x, layout, opts, 'kernels.batchNormBackward');
  native.batchNormBackward(...args);
  return result;
}

/** {@link batchNormBackward} on the libuv pool. */
export async function batchNormBackwardAsync(
  dy: FloatArray,
  x: FloatArray,
  layout: KernelLayout,
  opts: BatchNormBackwardOptions,
): Promise<BatchNormBackwardOutput> {
  const [args, result] = prepareBackward(dy, x, layout, opts, 'kernels.batchNormBackwardAsync');
  await native.batchNormBackwardAsync(...args);
  return result;
}

/**
 * Per-channel mean and biased variance, exact for badly scaled data.
 * @example
 * const { mean, variance } = nk.kernels.channelStats(x, { shape: [8, 3, 32, 32], axis: 1 });
 */
export function channelStats(x: FloatArray, layout: KernelLayout, opts?: ChannelStatsOptions): ChannelStatsOutput {
  const [args, result] = prepareStats(x, layout, opts, 'kernels.channelStats');
  native.channelStats(...args);
  return result;
}

/** {@link channelStats} on the libuv pool. */
export async function channelStatsAsync(x: FloatArray, layout: KernelLayout, opts?: ChannelStatsOptions): Promise<ChannelStatsOutput> {
  const [args, result] = prepareStats(x, layout, opts, 'kernels.channelStatsAsync');
  await native.channelStatsAsync(...args);
  return result;
}
