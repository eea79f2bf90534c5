/**
 * The zero-copy kernel API: batch normalization on typed arrays, for
 * services and hot loops. Every function takes optional output buffers, so a
 * steady-state loop allocates nothing; each has an `...Async` twin that runs
 * on the libuv thread pool and keeps the event loop free, and a `prepare...`
 * twin that checks a call once and returns a {@link PreparedKernel} whose
 * `run()` repeats it on the same buffers without any per-call checks.
 *
 * The data layout is given either as `{ outer, channels, inner }` (the view
 * of native/kernels/layout.h) or as `{ shape, axis }` (axis default -1).
 */
import { allocate, dtypeOf, isDetached, type DType, type FloatArray } from '../core/dtype.js';
import { rangeError, typeError } from '../core/errors.js';
import { axesAreAdjacent, channelLayout, resolveAxes, type ChannelLayout } from '../core/layout.js';
import { native, type PreparedHandle } from '../native.js';
import { shapeSize } from '../core/tensor.js';

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

// The per-call work below runs on every call of a service's hot loop, so the
// success path allocates nothing but the result object (and outputs the
// caller did not give): the layout, epsilon and the optional parameters of
// the call in progress go through module variables (each entry point reads
// them synchronously, right after its prepare function, before anything else
// can run), arguments are passed to the binding directly (no argument
// tuples, no spread), and typed arrays are checked with the cheapest reads
// first.

/** The [outer, channels, inner] view of the call in progress (see above). */
let curOuter = 0;
let curChannels = 0;
let curInner = 0;

function resolveLayout(layout: KernelLayout, api: string): void {
  if (typeof layout !== 'object' || layout === null) throw typeError(api, 'layout as { outer, channels, inner } or { shape, axis }', layout);
  if ('shape' in layout) {
    shapeSize(layout.shape, api, 'layout.shape');
    if (layout.shape.length === 0) throw rangeError(api, 'layout.shape of rank >= 1', '[]', true);
    if (layout.shape.includes(0)) throw rangeError(api, 'layout.shape without zero-size dimensions', `[${layout.shape.join(',')}]`, true);
    const axes = resolveAxes(layout.axis ?? -1, layout.shape.length, api, 'layout.axis');
    if (!axesAreAdjacent(axes)) throw rangeError(api, 'adjacent channel axes in layout.axis', `[${axes.join(',')}]`, true);
    const view: ChannelLayout = channelLayout(layout.shape, axes);
    curOuter = view.outer;
    curChannels = view.channels;
    curInner = view.inner;
    return;
  }
  const { outer, channels, inner } = layout;
  checkDim(outer, api, 'outer');
  checkDim(channels, api, 'channels');
  checkDim(inner, api, 'inner');
  curOuter = outer;
  curChannels = channels;
  curInner = inner;
}

function checkDim(v: unknown, api: string, name: string): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw rangeError(api, `layout.${name} as a positive integer`, v);
}

function dtypeOfData(x: unknown, api: string, param: string): DType {
  const d = dtypeOf(x);
  if (d === undefined) throw typeError(api, `${param} as a Float32Array or Float64Array`, x);
  return d;
}

/**
 * `a` as a live typed array of `dtype` and `length`. A detached view reads as
 * length 0 and every expected length is >= 1, so the detached probe only runs
 * once the length is wrong (it decides which message fits).
 */
function checkArray(a: unknown, dtype: DType, length: number, api: string, param: string): FloatArray {
  if (!(dtype === 'float32' ? a instanceof Float32Array : a instanceof Float64Array)) {
    throw typeError(api, `${param} as a ${dtype === 'float32' ? 'Float32Array' : 'Float64Array'} (same dtype as x)`, a);
  }
  const arr = a as FloatArray;
  if (arr.length !== length) {
    if (isDetached(arr)) throw typeError(api, `${param} backed by a live ArrayBuffer`, `${arr.constructor.name} over a detached ArrayBuffer`, true);
    throw rangeError(api, `${param} of length ${length}`, `length ${arr.length}`, true);
  }
  return arr;
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
 * offset and length). Same order as native/binding/args.h NoOverlap, which
 * checks the same on every call (by data pointers). The sync entry points
 * leave the check to the binding and run this only when the binding refused
 * the call, for the message in the kernel API's own parameter names; the
 * Async ones run it first (a refused call then never reaches the binding,
 * which would pin the buffers). Only caller-given outputs can overlap
 * anything: fresh ones are passed as null.
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

const NO_OPTIONS: Readonly<Record<string, never>> = Object.freeze({});

function options<T>(o: T | undefined, api: string): T | Readonly<Record<string, never>> {
  if (o === undefined) return NO_OPTIONS;
  if (typeof o !== 'object' || o === null) throw typeError(api, 'an options object', o);
  return o;
}

// Parameters of the call in progress beyond the layout (see above).
let curGamma: FloatArray | null = null;
let curBeta: FloatArray | null = null;
let curMean: FloatArray | null = null;
let curVariance: FloatArray | null = null;
let curEpsilon = 0;
let curTraining = true;

function prepareTrain(x: FloatArray, layout: KernelLayout, opts: BatchNormTrainOptions | undefined, api: string): BatchNormTrainOutput {
  const dtype = dtypeOfData(x, api, 'x');
  resolveLayout(layout, api);
  const channels = curChannels;
  const n = curOuter * channels * curInner;
  checkArray(x, dtype, n, api, 'x');
  if (curOuter * curInner < 2) throw rangeError(api, 'more than one value per channel in training mode', `${curOuter * curInner}`, true);
  const o = options(opts, api) as BatchNormTrainOptions;
  const out = options(o.out, api) as NonNullable<BatchNormTrainOptions['out']>;
  curGamma = optionalArray(o.gamma, dtype, channels, api, 'gamma');
  curBeta = optionalArray(o.beta, dtype, channels, api, 'beta');
  curEpsilon = checkEpsilon(o.epsilon ?? 1e-3, api);
  return {
    y: outArray(out.y, dtype, n, api, 'out.y'),
    mean: outArray(out.mean, dtype, channels, api, 'out.mean'),
    variance: outArray(out.variance, dtype, channels, api, 'out.variance'),
    invStd: outArray(out.invStd, dtype, channels, api, 'out.invStd'),
  };
}

function trainDisjoint(api: string, x: FloatArray, opts: BatchNormTrainOptions | undefined, gamma: FloatArray | null, beta: FloatArray | null): void {
  const out = opts?.out ?? {};
  checkDisjoint(api, TRAIN_OUTS, [out.y ?? null, out.mean ?? null, out.variance ?? null, out.invStd ?? null], TRAIN_INS, [x, gamma, beta], 0);
}

function prepareInfer(x: FloatArray, layout: KernelLayout, opts: BatchNormInferOptions, api: string): FloatArray {
  const dtype = dtypeOfData(x, api, 'x');
  resolveLayout(layout, api);
  const channels = curChannels;
  const n = curOuter * channels * curInner;
  checkArray(x, dtype, n, api, 'x');
  if (typeof opts !== 'object' || opts === null) throw typeError(api, 'options with mean and variance', opts);
  curMean = checkArray(opts.mean, dtype, channels, api, 'mean');
  curVariance = checkArray(opts.variance, dtype, channels, api, 'variance');
  curGamma = optionalArray(opts.gamma, dtype, channels, api, 'gamma');
  curBeta = optionalArray(opts.beta, dtype, channels, api, 'beta');
  curEpsilon = checkEpsilon(opts.epsilon ?? 1e-3, api);
  return outArray(opts.out, dtype, n, api, 'out');
}

function inferDisjoint(api: string, x: FloatArray, opts: BatchNormInferOptions): void {
  checkDisjoint(api, INFER_OUTS, [opts.out ?? null], INFER_INS, [x, curGamma, curBeta, curMean, curVariance], 0);
}

function prepareBackward(dy: FloatArray, x: FloatArray, layout: KernelLayout, opts: BatchNormBackwardOptions, api: string): BatchNormBackwardOutput {
  const dtype = dtypeOfData(x, api, 'x');
  resolveLayout(layout, api);
  const channels = curChannels;
  const n = curOuter * channels * curInner;
  checkArray(x, dtype, n, api, 'x');
  checkArray(dy, dtype, n, api, 'dy');
  if (typeof opts !== 'object' || opts === null) throw typeError(api, 'options with mean and invStd', opts);
  curMean = checkArray(opts.mean, dtype, channels, api, 'mean');
  curVariance = checkArray(opts.invStd, dtype, channels, api, 'invStd'); // the invStd argument
  curGamma = optionalArray(opts.gamma, dtype, channels, api, 'gamma');
  const training = opts.training ?? true;
  if (typeof training !== 'boolean') throw typeError(api, 'training as a boolean', training);
  curTraining = training;
  const out = options(opts.out, api) as NonNullable<BatchNormBackwardOptions['out']>;
  return {
    dx: outArray(out.dx, dtype, n, api, 'out.dx'),
    dgamma: outArray(out.dgamma, dtype, channels, api, 'out.dgamma'),
    dbeta: outArray(out.dbeta, dtype, channels, api, 'out.dbeta'),
  };
}

function backwardDisjoint(api: string, dy: FloatArray, x: FloatArray, opts: BatchNormBackwardOptions): void {
  const out = opts.out ?? {};
  checkDisjoint(api, BACKWARD_OUTS, [out.dx ?? null, out.dgamma ?? null, out.dbeta ?? null], BACKWARD_INS, [dy, x, curGamma, curMean, curVariance], 0);
}

function prepareStats(x: FloatArray, layout: KernelLayout, opts: ChannelStatsOptions | undefined, api: string): ChannelStatsOutput {
  const dtype = dtypeOfData(x, api, 'x');
  resolveLayout(layout, api);
  const channels = curChannels;
  checkArray(x, dtype, curOuter * channels * curInner, api, 'x');
  const out = options(options(opts, api).out, api) as NonNullable<ChannelStatsOptions['out']>;
  return {
    mean: outArray(out.mean, dtype, channels, api, 'out.mean'),
    variance: outArray(out.variance, dtype, channels, api, 'out.variance'),
  };
}

function statsDisjoint(api: string, x: FloatArray, opts: ChannelStatsOptions | undefined): void {
  const out = opts?.out ?? {};
  checkDisjoint(api, STATS_OUTS, [out.mean ?? null, out.variance ?? null], STATS_INS, [x]);
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
  const api = 'kernels.batchNormTrain';
  const r = prepareTrain(x, layout, opts, api);
  const gamma = curGamma;
  const beta = curBeta;
  try {
    native.batchNormTrain(x, curOuter, curChannels, curInner, gamma, beta, curEpsilon, r.y, r.mean, r.variance, r.invStd);
  } catch (e) {
    trainDisjoint(api, x, opts, gamma, beta); // the binding refused overlapping outputs: say so in this API's names
    throw e;
  }
  return r;
}

/** {@link batchNormTrain} on the libuv pool; inputs must not be modified until it resolves. */
export async function batchNormTrainAsync(x: FloatArray, layout: KernelLayout, opts?: BatchNormTrainOptions): Promise<BatchNormTrainOutput> {
  const api = 'kernels.batchNormTrainAsync';
  const r = prepareTrain(x, layout, opts, api);
  trainDisjoint(api, x, opts, curGamma, curBeta);
  await native.batchNormTrainAsync(x, curOuter, curChannels, curInner, curGamma, curBeta, curEpsilon, r.y, r.mean, r.variance, r.invStd);
  return r;
}

/**
 * Inference forward with given statistics:
 * `y = (x - mean) / sqrt(variance + epsilon) * gamma + beta`.
 * @example
 * const y = nk.kernels.batchNormInfer(x, { shape: [32, 64] }, { mean, variance });
 */
export function batchNormInfer(x: FloatArray, layout: KernelLayout, opts: BatchNormInferOptions): FloatArray {
  const api = 'kernels.batchNormInfer';
  const y = prepareInfer(x, layout, opts, api);
  try {
    native.batchNormInfer(x, curOuter, curChannels, curInner, curGamma, curBeta, curMean!, curVariance!, curEpsilon, y);
  } catch (e) {
    inferDisjoint(api, x, opts);
    throw e;
  }
  return y;
}

/** {@link batchNormInfer} on the libuv pool. */
export async function batchNormInferAsync(x: FloatArray, layout: KernelLayout, opts: BatchNormInferOptions): Promise<FloatArray> {
  const api = 'kernels.batchNormInferAsync';
  const y = prepareInfer(x, layout, opts, api);
  inferDisjoint(api, x, opts);
  await native.batchNormInferAsync(x, curOuter, curChannels, curInner, curGamma, curBeta, curMean!, curVariance!, curEpsilon, y);
  return y;
}

/**
 * Backward pass: dx, dgamma = sum(dy * xhat), dbeta = sum(dy).
 * @example
 * const f = nk.kernels.batchNormTrain(x, layout);
 * const { dx, dgamma, dbeta } = nk.kernels.batchNormBackward(dy, x, layout, { mean: f.mean, invStd: f.invStd });
 */
export function batchNormBackward(dy: FloatArray, x: FloatArray, layout: KernelLayout, opts: BatchNormBackwardOptions): BatchNormBackwardOutput {
  const api = 'kernels.batchNormBackward';
  const r = prepareBackward(dy, x, layout, opts, api);
  try {
    native.batchNormBackward(dy, x, curOuter, curChannels, curInner, curGamma, curMean!, curVariance!, curTraining, r.dx, r.dgamma, r.dbeta);
  } catch (e) {
    backwardDisjoint(api, dy, x, opts);
    throw e;
  }
  return r;
}

/** {@link batchNormBackward} on the libuv pool. */
export async function batchNormBackwardAsync(
  dy: FloatArray,
  x: FloatArray,
  layout: KernelLayout,
  opts: BatchNormBackwardOptions,
): Promise<BatchNormBackwardOutput> {
  const api = 'kernels.batchNormBackwardAsync';
  const r = prepareBackward(dy, x, layout, opts, api);
  backwardDisjoint(api, dy, x, opts);
  await native.batchNormBackwardAsync(dy, x, curOuter, curChannels, curInner, curGamma, curMean!, curVariance!, curTraining, r.dx, r.dgamma, r.dbeta);
  return r;
}

/**
 * Per-channel mean and biased variance, exact for badly scaled data.
 * @example
 * const { mean, variance } = nk.kernels.channelStats(x, { shape: [8, 3, 32, 32], axis: 1 });
 */
export function channelStats(x: FloatArray, layout: KernelLayout, opts?: ChannelStatsOptions): ChannelStatsOutput {
  const api = 'kernels.channelStats';
  const r = prepareStats(x, layout, opts, api);
  try {
    native.channelStats(x, curOuter, curChannels, curInner, r.mean, r.variance);
  } catch (e) {
    statsDisjoint(api, x, opts);
    throw e;
  }
  return r;
}

/** {@link channelStats} on the libuv pool. */
export async function channelStatsAsync(x: FloatArray, layout: KernelLayout, opts?: ChannelStatsOptions): Promise<ChannelStatsOutput> {
  const api = 'kernels.channelStatsAsync';
  const r = prepareStats(x, layout, opts, api);
  statsDisjoint(api, x, opts);
  await native.channelStatsAsync(x, curOuter, curChannels, curInner, r.mean, r.variance);
  return r;
}

// ---------------------------------------------------------------------------
// Prepared calls.

/**
 * A kernel call checked once and run any number of times: the handle of a
 * `prepare...` function. Each {@link PreparedKernel.run} reads the current
 * contents of the arrays given to prepare and writes the same output
 * buffers, with none of the per-call argument checks and unwrapping (on a
 * tiny tensor those cost several times the kernel itself; see
 * bench/RESULTS.md, "Call overhead").
 *
 * The prepared kernel keeps the arrays, not copies: change their contents
 * between runs freely. It refuses to run (TypeError) once an array no longer
 * has its prepared length, i.e. its ArrayBuffer was transferred (detached)
 * or resized. Runs are synchronous; for the libuv pool use the `...Async`
 * functions.
 */
export interface PreparedKernel<R> {
  /** Runs the call on the arrays' current contents; returns {@link outputs}. */
  run(): R;
  /** The output buffers every run writes (the same objects each time). */
  readonly outputs: R;
}

class Prepared<R> implements PreparedKernel<R> {
  readonly #api: string;
  readonly #handle: PreparedHandle;
  readonly #names: readonly string[];
  readonly #arrays: readonly FloatArray[];
  readonly #lengths: readonly number[];
  readonly outputs: R;

  constructor(api: string, handle: PreparedHandle, outputs: R, names: readonly string[], arrays: readonly (FloatArray | null)[]) {
    this.#api = api;
    this.#handle = handle;
    this.outputs = outputs;
    const kept: FloatArray[] = [];
    const keptNames: string[] = [];
    arrays.forEach((a, i) => {
      if (a !== null) {
        kept.push(a);
        keptNames.push(names[i]);
      }
    });
    this.#names = keptNames;
    this.#arrays = kept;
    this.#lengths = kept.map((a) => a.length);
  }

  run(): R {
    // The native handle holds data pointers: an array whose length changed
    // since prepare (detached: 0; resized) must never reach it.
    const arrays = this.#arrays;
    const lengths = this.#lengths;
    for (let i = 0; i < arrays.length; i++) {
      if (arrays[i].length !== lengths[i]) throw this.#stale(i);
    }
    native.runPrepared(this.#handle);
    return this.outputs;
  }

  #stale(i: number): Error {
    const a = this.#arrays[i];
    const state = isDetached(a) ? 'a detached ArrayBuffer' : `length ${a.length}`;
    return typeError(
      `${this.#api} (run)`,
      `${this.#names[i]} to keep its prepared length ${this.#lengths[i]} (its ArrayBuffer neither transferred nor resized)`,
      state,
      true,
    );
  }
}

/**
 * {@link batchNormTrain}, prepared: checks everything once, returns a
 * {@link PreparedKernel} whose `run()` recomputes y, mean, variance and
 * invStd from the current contents of x, gamma and beta.
 * @example
 * const step = nk.kernels.prepareBatchNormTrain(x, { shape: [2, 4, 4, 3] }, { gamma, beta });
 * for (;;) { fill(x); const { y, mean } = step.run(); }
 */
export function prepareBatchNormTrain(x: FloatArray, layout: KernelLayout, opts?: BatchNormTrainOptions): PreparedKernel<BatchNormTrainOutput> {
  const api = 'kernels.prepareBatchNormTrain';
  const r = prepareTrain(x, layout, opts, api);
  const gamma = curGamma;
  const beta = curBeta;
  let handle: PreparedHandle;
  try {
    handle = native.prepareBatchNormTrain(x, curOuter, curChannels, curInner, gamma, beta, curEpsilon, r.y, r.mean, r.variance, r.invStd);
  } catch (e) {
    trainDisjoint(api, x, opts, gamma, beta);
    throw e;
  }
  return new Prepared(api, handle, r, [...TRAIN_INS, ...TRAIN_OUTS], [x, gamma, beta, r.y, r.mean, r.variance, r.invStd]);
}

/** {@link batchNormInfer}, prepared (see {@link prepareBatchNormTrain}); `run()` returns y. */
export function prepareBatchNormInfer(x: FloatArray, layout: KernelLayout, opts: BatchNormInferOptions): PreparedKernel<FloatArray> {
  const api = 'kernels.prepareBatchNormInfer';
  const y = prepareInfer(x, layout, opts, api);
  const ins = [x, curGamma, curBeta, curMean, curVariance];
  let handle: PreparedHandle;
  try {
    handle = native.prepareBatchNormInfer(x, curOuter, curChannels, curInner, curGamma, curBeta, curMean!, curVariance!, curEpsilon, y);
  } catch (e) {
    inferDisjoint(api, x, opts);
    throw e;
  }
  return new Prepared(api, handle, y, [...INFER_INS, ...INFER_OUTS], [...ins, y]);
}

/** {@link batchNormBackward}, prepared (see {@link prepareBatchNormTrain}); `run()` returns dx, dgamma, dbeta. */
export function prepareBatchNormBackward(
  dy: FloatArray,
  x: FloatArray,
  layout: KernelLayout,
  opts: BatchNormBackwardOptions,
): PreparedKernel<BatchNormBackwardOutput> {
  const api = 'kernels.prepareBatchNormBackward';
  const r = prepareBackward(dy, x, layout, opts, api);
  const ins = [dy, x, curGamma, curMean, curVariance];
  let handle: PreparedHandle;
  try {
    handle = native.prepareBatchNormBackward(dy, x, curOuter, curChannels, curInner, curGamma, curMean!, curVariance!, curTraining, r.dx, r.dgamma, r.dbeta);
  } catch (e) {
    backwardDisjoint(api, dy, x, opts);
    throw e;
  }
  return new Prepared(api, handle, r, [...BACKWARD_INS, ...BACKWARD_OUTS], [...ins, r.dx, r.dgamma, r.dbeta]);
}

/** {@link channelStats}, prepared (see {@link prepareBatchNormTrain}); `run()` returns mean and variance. */
export function prepareChannelStats(x: FloatArray, layout: KernelLayout, opts?: ChannelStatsOptions): PreparedKernel<ChannelStatsOutput> {
  const api = 'kernels.prepareChannelStats';
  const r = prepareStats(x, layout, opts, api);
  let handle: PreparedHandle;
  try {
    handle = native.prepareChannelStats(x, curOuter, curChannels, curInner, r.mean, r.variance);
  } catch (e) {
    statsDisjoint(api, x, opts);
    throw e;
  }
  return new Prepared(api, handle, r, [...STATS_INS, ...STATS_OUTS], [x, r.mean, r.variance]);
}
