/**
 * Batch normalization on typed arrays: the training forward, the inference
 * forward and the backward pass of the kernel API, each with an `...Async`
 * twin on the libuv thread pool.
 *
 * Every call resolves its arguments into locals of its own (the `...Args`
 * objects below), checks all of them, then makes exactly one binding call.
 * Nothing of a call lives in module state: an option getter that itself
 * calls the kernel API cannot change the call that is reading it.
 */
import type { FloatArray } from '../core/dtype.js';
import { rangeError, typeError } from '../core/errors.js';
import type { ChannelLayout } from '../core/layout.js';
import { boolean, floatArrayDtype, positive } from '../core/validate.js';
import { native } from '../native.js';
import { checkDisjoint, floatArg, optionalFloatArg, optionsArg, outputArg, type ArgNames } from './args.js';
import { resolveLayout, type KernelLayout } from './layout.js';

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

/** Parameter names of each call's arrays, in the order the binding takes them. */
export const TRAIN_NAMES: ArgNames = { outs: ['out.y', 'out.mean', 'out.variance', 'out.invStd'], ins: ['x', 'gamma', 'beta'] };
export const INFER_NAMES: ArgNames = { outs: ['out'], ins: ['x', 'gamma', 'beta', 'mean', 'variance'] };
export const BACKWARD_NAMES: ArgNames = { outs: ['out.dx', 'out.dgamma', 'out.dbeta'], ins: ['dy', 'x', 'gamma', 'mean', 'invStd'] };

/** A checked {@link batchNormTrain} call. */
export interface TrainArgs {
  view: ChannelLayout;
  gamma: FloatArray | null;
  beta: FloatArray | null;
  epsilon: number;
  result: BatchNormTrainOutput;
}

/** Checks a training-forward call, in the order users see the errors; the disjointness check last. */
export function trainArgs(api: string, x: FloatArray, layout: KernelLayout, opts: BatchNormTrainOptions | undefined): TrainArgs {
  const dtype = floatArrayDtype(api, 'x', x);
  const view = resolveLayout(api, layout);
  const { outer, channels, inner } = view;
  const n = outer * channels * inner;
  floatArg(api, 'x', x, dtype, n);
  if (outer * inner < 2) throw rangeError(api, 'more than one value per channel in training mode', `${outer * inner}`, true);
  const o = optionsArg(api, opts) as BatchNormTrainOptions;
  const out = optionsArg(api, o.out) as NonNullable<BatchNormTrainOptions['out']>;
  const gamma = optionalFloatArg(api, 'gamma', o.gamma, dtype, channels);
  const beta = optionalFloatArg(api, 'beta', o.beta, dtype, channels);
  const epsilon = positive(api, 'epsilon', o.epsilon ?? 1e-3);
  const { y, mean, variance, invStd } = out;
  const result = {
    y: outputArg(api, 'out.y', y, dtype, n),
    mean: outputArg(api, 'out.mean', mean, dtype, channels),
    variance: outputArg(api, 'out.variance', variance, dtype, channels),
    invStd: outputArg(api, 'out.invStd', invStd, dtype, channels),
  };
  if (y !== undefined || mean !== undefined || variance !== undefined || invStd !== undefined) {
    checkDisjoint(api, TRAIN_NAMES, [y ?? null, mean ?? null, variance ?? null, invStd ?? null, x, gamma, beta], 0);
  }
  return { view, gamma, beta, epsilon, result };
}

/** A checked {@link batchNormInfer} call. */
export interface InferArgs {
  view: ChannelLayout;
  gamma: FloatArray | null;
  beta: FloatArray | null;
  mean: FloatArray;
  variance: FloatArray;
  epsilon: number;
  y: FloatArray;
}

/** Checks an inference-forward call. */
export function inferArgs(api: string, x: FloatArray, layout: KernelLayout, opts: BatchNormInferOptions): InferArgs {
  const dtype = floatArrayDtype(api, 'x', x);
  const view = resolveLayout(api, layout);
  const { channels } = view;
  const n = view.outer * channels * view.inner;
  floatArg(api, 'x', x, dtype, n);
  if (typeof opts !== 'object' || opts === null) throw typeError(api, 'options with mean and variance', opts);
  const mean = floatArg(api, 'mean', opts.mean, dtype, channels);
  const variance = floatArg(api, 'variance', opts.variance, dtype, channels);
  const gamma = optionalFloatArg(api, 'gamma', opts.gamma, dtype, channels);
  const beta = optionalFloatArg(api, 'beta', opts.beta, dtype, channels);
  const epsilon = positive(api, 'epsilon', opts.epsilon ?? 1e-3);
  const out = opts.out;
  const y = outputArg(api, 'out', out, dtype, n);
  if (out !== undefined) checkDisjoint(api, INFER_NAMES, [y, x, gamma, beta, mean, variance], 0);
  return { view, gamma, beta, mean, variance, epsilon, y };
}

/** A checked {@link batchNormBackward} call. */
export interface BackwardArgs {
  view: ChannelLayout;
  gamma: FloatArray | null;
  mean: FloatArray;
  invStd: FloatArray;
  training: boolean;
  result: BatchNormBackwardOutput;
}

/** Checks a backward call. */
export function backwardArgs(api: string, dy: FloatArray, x: FloatArray, layout: KernelLayout, opts: BatchNormBackwardOptions): BackwardArgs {
  const dtype = floatArrayDtype(api, 'x', x);
  const view = resolveLayout(api, layout);
  const { channels } = view;
  const n = view.outer * channels * view.inner;
  floatArg(api, 'x', x, dtype, n);
  floatArg(api, 'dy', dy, dtype, n);
  if (typeof opts !== 'object' || opts === null) throw typeError(api, 'options with mean and invStd', opts);
  const mean = floatArg(api, 'mean', opts.mean, dtype, channels);
  const invStd = floatArg(api, 'invStd', opts.invStd, dtype, channels);
  const gamma = optionalFloatArg(api, 'gamma', opts.gamma, dtype, channels);
  const training = boolean(api, 'training', opts.training ?? true);
  const out = optionsArg(api, opts.out) as NonNullable<BatchNormBackwardOptions['out']>;
  const { dx, dgamma, dbeta } = out;
  const result = {
    dx: outputArg(api, 'out.dx', dx, dtype, n),
    dgamma: outputArg(api, 'out.dgamma', dgamma, dtype, channels),
    dbeta: outputArg(api, 'out.dbeta', dbeta, dtype, channels),
  };
  if (dx !== undefined || dgamma !== undefined || dbeta !== undefined) {
    checkDisjoint(api, BACKWARD_NAMES, [dx ?? null, dgamma ?? null, dbeta ?? null, dy, x, gamma, mean, invStd], 0);
  }
  return { view, gamma, mean, invStd, training, result };
}

/**
 * Training-mode forward: batch statistics and the normalized output.
 * @param x input values, layout given by `layout`
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts gamma, beta (null/absent = 1/0), epsilon (1e-3), optional `out` buffers
 * @returns y, per-channel mean, biased variance and invStd (= 1/sqrt(variance + epsilon))
 * @throws {TypeError} for non-float arrays or mixed dtypes
 * @throws {RangeError} for bad lengths, layout or epsilon, one value per channel, or outputs that share memory with inputs
 * @example
 * const { y, mean, variance } = nk.kernels.batchNormTrain(x, { shape: [32, 64] });
 */
export function batchNormTrain(x: FloatArray, layout: KernelLayout, opts?: BatchNormTrainOptions): BatchNormTrainOutput {
  const { view, gamma, beta, epsilon, result: r } = trainArgs('kernels.batchNormTrain', x, layout, opts);
  native.batchNormTrain(x, view.outer, view.channels, view.inner, gamma, beta, epsilon, r.y, r.mean, r.variance, r.invStd);
  return r;
}

/**
 * {@link batchNormTrain} on the libuv pool; inputs must not be modified until it resolves.
 * @param x input values
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts as {@link batchNormTrain}
 * @throws {TypeError | RangeError} (as a rejection) as {@link batchNormTrain}
 */
export async function batchNormTrainAsync(x: FloatArray, layout: KernelLayout, opts?: BatchNormTrainOptions): Promise<BatchNormTrainOutput> {
  const { view, gamma, beta, epsilon, result: r } = trainArgs('kernels.batchNormTrainAsync', x, layout, opts);
  await native.batchNormTrainAsync(x, view.outer, view.channels, view.inner, gamma, beta, epsilon, r.y, r.mean, r.variance, r.invStd);
  return r;
}

/**
 * Inference forward with given statistics:
 * `y = (x - mean) / sqrt(variance + epsilon) * gamma + beta`.
 * @param x input values
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts mean and variance (required), gamma, beta, epsilon (1e-3), optional `out` (may be x itself)
 * @returns y
 * @throws {TypeError} for non-float arrays or mixed dtypes
 * @throws {RangeError} for bad lengths, layout or epsilon, or an `out` that partly overlaps an input
 * @example
 * const y = nk.kernels.batchNormInfer(x, { shape: [32, 64] }, { mean, variance });
 */
export function batchNormInfer(x: FloatArray, layout: KernelLayout, opts: BatchNormInferOptions): FloatArray {
  const a = inferArgs('kernels.batchNormInfer', x, layout, opts);
  const v = a.view;
  native.batchNormInfer(x, v.outer, v.channels, v.inner, a.gamma, a.beta, a.mean, a.variance, a.epsilon, a.y);
  return a.y;
}

/**
 * {@link batchNormInfer} on the libuv pool.
 * @param x input values
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts as {@link batchNormInfer}
 * @throws {TypeError | RangeError} (as a rejection) as {@link batchNormInfer}
 */
export async function batchNormInferAsync(x: FloatArray, layout: KernelLayout, opts: BatchNormInferOptions): Promise<FloatArray> {
  const a = inferArgs('kernels.batchNormInferAsync', x, layout, opts);
  const v = a.view;
  await native.batchNormInferAsync(x, v.outer, v.channels, v.inner, a.gamma, a.beta, a.mean, a.variance, a.epsilon, a.y);
  return a.y;
}

/**
 * Backward pass: dx, dgamma = sum(dy * xhat), dbeta = sum(dy).
 * @param dy gradient of the output
 * @param x the forward's input
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts mean and invStd of the forward (required), gamma, training (true), optional `out` buffers
 * @returns dx, dgamma, dbeta
 * @throws {TypeError} for non-float arrays, mixed dtypes or a non-boolean training
 * @throws {RangeError} for bad lengths or layout, or outputs that share memory with inputs
 * @example
 * const f = nk.kernels.batchNormTrain(x, layout);
 * const { dx, dgamma, dbeta } = nk.kernels.batchNormBackward(dy, x, layout, { mean: f.mean, invStd: f.invStd });
 */
export function batchNormBackward(dy: FloatArray, x: FloatArray, layout: KernelLayout, opts: BatchNormBackwardOptions): BatchNormBackwardOutput {
  const a = backwardArgs('kernels.batchNormBackward', dy, x, layout, opts);
  const { view: v, result: r } = a;
  native.batchNormBackward(dy, x, v.outer, v.channels, v.inner, a.gamma, a.mean, a.invStd, a.training, r.dx, r.dgamma, r.dbeta);
  return r;
}

/**
 * {@link batchNormBackward} on the libuv pool.
 * @param dy gradient of the output
 * @param x the forward's input
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts as {@link batchNormBackward}
 * @throws {TypeError | RangeError} (as a rejection) as {@link batchNormBackward}
 */
export async function batchNormBackwardAsync(
  dy: FloatArray,
  x: FloatArray,
  layout: KernelLayout,
  opts: BatchNormBackwardOptions,
): Promise<BatchNormBackwardOutput> {
  const a = backwardArgs('kernels.batchNormBackwardAsync', dy, x, layout, opts);
  const { view: v, result: r } = a;
  await native.batchNormBackwardAsync(dy, x, v.outer, v.channels, v.inner, a.gamma, a.mean, a.invStd, a.training, r.dx, r.dgamma, r.dbeta);
  return r;
}
