/**
 * Per-channel statistics on typed arrays, with an `...Async` twin. Like the
 * batch-norm calls, each call resolves its arguments into locals of its own.
 */
import type { FloatArray } from '../core/dtype.js';
import type { ChannelLayout } from '../core/layout.js';
import { floatArrayDtype } from '../core/validate.js';
import { native } from '../native.js';
import { checkDisjoint, floatArg, optionsArg, outputArg, type ArgNames } from './args.js';
import { resolveLayout, type KernelLayout } from './layout.js';

/** Options of {@link channelStats}. */
export interface ChannelStatsOptions {
  out?: { mean?: FloatArray; variance?: FloatArray };
}
/** Result of {@link channelStats}. */
export interface ChannelStatsOutput {
  mean: FloatArray;
  variance: FloatArray;
}

/** Parameter names of the call's arrays, in the order the binding takes them. */
export const STATS_NAMES: ArgNames = { outs: ['out.mean', 'out.variance'], ins: ['x'] };

/** A checked {@link channelStats} call. */
export interface StatsArgs {
  view: ChannelLayout;
  result: ChannelStatsOutput;
}

/** Checks a channel-statistics call. */
export function statsArgs(api: string, x: FloatArray, layout: KernelLayout, opts: ChannelStatsOptions | undefined): StatsArgs {
  const dtype = floatArrayDtype(api, 'x', x);
  const view = resolveLayout(api, layout);
  const { channels } = view;
  floatArg(api, 'x', x, dtype, view.outer * channels * view.inner);
  const out = optionsArg(api, optionsArg(api, opts).out) as NonNullable<ChannelStatsOptions['out']>;
  const { mean, variance } = out;
  const result = {
    mean: outputArg(api, 'out.mean', mean, dtype, channels),
    variance: outputArg(api, 'out.variance', variance, dtype, channels),
  };
  if (mean !== undefined || variance !== undefined) checkDisjoint(api, STATS_NAMES, [mean ?? null, variance ?? null, x]);
  return { view, result };
}

/**
 * Per-channel mean and biased variance, exact for badly scaled data.
 * @param x input values
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts optional `out` buffers for mean and variance
 * @returns mean and variance, one value per channel
 * @throws {TypeError} for a non-float x or output of another dtype
 * @throws {RangeError} for bad lengths or layout, or outputs that share memory with x or each other
 * @example
 * const { mean, variance } = nk.kernels.channelStats(x, { shape: [8, 3, 32, 32], axis: 1 });
 */
export function channelStats(x: FloatArray, layout: KernelLayout, opts?: ChannelStatsOptions): ChannelStatsOutput {
  const { view, result: r } = statsArgs('kernels.channelStats', x, layout, opts);
  native.channelStats(x, view.outer, view.channels, view.inner, r.mean, r.variance);
  return r;
}

/**
 * {@link channelStats} on the libuv pool.
 * @param x input values
 * @param layout `{ outer, channels, inner }` or `{ shape, axis }`
 * @param opts as {@link channelStats}
 * @throws {TypeError | RangeError} (as a rejection) as {@link channelStats}
 */
export async function channelStatsAsync(x: FloatArray, layout: KernelLayout, opts?: ChannelStatsOptions): Promise<ChannelStatsOutput> {
  const { view, result: r } = statsArgs('kernels.channelStatsAsync', x, layout, opts);
  await native.channelStatsAsync(x, view.outer, view.channels, view.inner, r.mean, r.variance);
  return r;
}
