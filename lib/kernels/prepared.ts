/**
 * Prepared calls: a kernel API call checked once and run any number of times
 * on the same buffers, for the loops where the per-call checks would cost
 * more than the kernel (tiny tensors; see bench/RESULTS.md, "Call overhead").
 */
import { isDetached, type FloatArray } from '../core/dtype.js';
import { typeError } from '../core/errors.js';
import { native, type PreparedHandle } from '../native.js';
import type { ArgNames } from './args.js';
import { backwardArgs, BACKWARD_NAMES, inferArgs, INFER_NAMES, trainArgs, TRAIN_NAMES } from './batch_norm.js';
import type { BatchNormBackwardOptions, BatchNormBackwardOutput, BatchNormInferOptions, BatchNormTrainOptions, BatchNormTrainOutput } from './batch_norm.js';
import { statsArgs, STATS_NAMES, type ChannelStatsOptions, type ChannelStatsOutput } from './channel_stats.js';
import type { KernelLayout } from './layout.js';

/**
 * A kernel API call checked once and run any number of times: the handle of
 * a `prepare...` function. Each {@link PreparedKernel.run} reads the current
 * contents of the arrays given to prepare and writes the same output
 * buffers, with none of the per-call argument checks and unwrapping.
 *
 * The prepared call keeps the arrays, not copies: change their contents
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

  /** `arrays` are the call's inputs then outputs, in the order of `names`' ins then outs; null ones are absent. */
  constructor(api: string, handle: PreparedHandle, outputs: R, names: ArgNames, arrays: readonly (FloatArray | null)[]) {
    this.#api = api;
    this.#handle = handle;
    this.outputs = outputs;
    const allNames = [...names.ins, ...names.outs];
    const kept: FloatArray[] = [];
    const keptNames: string[] = [];
    arrays.forEach((a, i) => {
      if (a !== null) {
        kept.push(a);
        keptNames.push(allNames[i]);
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
 * @param x input values
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts as {@link batchNormTrain}
 * @throws {TypeError | RangeError} as {@link batchNormTrain}
 * @example
 * const step = nk.kernels.prepareBatchNormTrain(x, { shape: [2, 4, 4, 3] }, { gamma, beta });
 * for (;;) { fill(x); const { y, mean } = step.run(); }
 */
export function prepareBatchNormTrain(x: FloatArray, layout: KernelLayout, opts?: BatchNormTrainOptions): PreparedKernel<BatchNormTrainOutput> {
  const api = 'kernels.prepareBatchNormTrain';
  const { view, gamma, beta, epsilon, result: r } = trainArgs(api, x, layout, opts);
  const handle = native.prepareBatchNormTrain(x, view.outer, view.channels, view.inner, gamma, beta, epsilon, r.y, r.mean, r.variance, r.invStd);
  return new Prepared(api, handle, r, TRAIN_NAMES, [x, gamma, beta, r.y, r.mean, r.variance, r.invStd]);
}

/**
 * {@link batchNormInfer}, prepared (see {@link prepareBatchNormTrain}); `run()` returns y.
 * @param x input values
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts as {@link batchNormInfer}
 * @throws {TypeError | RangeError} as {@link batchNormInfer}
 */
export function prepareBatchNormInfer(x: FloatArray, layout: KernelLayout, opts: BatchNormInferOptions): PreparedKernel<FloatArray> {
  const api = 'kernels.prepareBatchNormInfer';
  const a = inferArgs(api, x, layout, opts);
  const v = a.view;
  const handle = native.prepareBatchNormInfer(x, v.outer, v.channels, v.inner, a.gamma, a.beta, a.mean, a.variance, a.epsilon, a.y);
  return new Prepared(api, handle, a.y, INFER_NAMES, [x, a.gamma, a.beta, a.mean, a.variance, a.y]);
}

/**
 * {@link batchNormBackward}, prepared (see {@link prepareBatchNormTrain}); `run()` returns dx, dgamma, dbeta.
 * @param dy gradient of the output
 * @param x the forward's input
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts as {@link batchNormBackward}
 * @throws {TypeError | RangeError} as {@link batchNormBackward}
 */
export function prepareBatchNormBackward(
  dy: FloatArray,
  x: FloatArray,
  layout: KernelLayout,
  opts: BatchNormBackwardOptions,
): PreparedKernel<BatchNormBackwardOutput> {
  const api = 'kernels.prepareBatchNormBackward';
  const a = backwardArgs(api, dy, x, layout, opts);
  const { view: v, result: r } = a;
  const handle = native.prepareBatchNormBackward(dy, x, v.outer, v.channels, v.inner, a.gamma, a.mean, a.invStd, a.training, r.dx, r.dgamma, r.dbeta);
  return new Prepared(api, handle, r, BACKWARD_NAMES, [dy, x, a.gamma, a.mean, a.invStd, r.dx, r.dgamma, r.dbeta]);
}

/**
 * {@link channelStats}, prepared (see {@link prepareBatchNormTrain}); `run()` returns mean and variance.
 * @param x input values
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts as {@link channelStats}
 * @throws {TypeError | RangeError} as {@link channelStats}
 */
export function prepareChannelStats(x: FloatArray, layout: KernelLayout, opts?: ChannelStatsOptions): PreparedKernel<ChannelStatsOutput> {
  const api = 'kernels.prepareChannelStats';
  const { view, result: r } = statsArgs(api, x, layout, opts);
  const handle = native.prepareChannelStats(x, view.outer, view.channels, view.inner, r.mean, r.variance);
  return new Prepared(api, handle, r, STATS_NAMES, [x, r.mean, r.variance]);
}
