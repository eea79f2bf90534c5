import { dtypeOf } from '../core/dtype.js';
import { describe, NormkitRangeError, rangeError, typeError } from '../core/errors.js';
import { moments } from '../ops/moments.js';
import { cast } from '../ops/cast.js';
import { add, div, mul, sub } from '../ops/elementwise.js';
import { isTensorSource, Tensor, toTensor, type NestedArray, type TensorLike } from '../core/tensor.js';
import type { Variable } from '../core/variable.js';
import { Zeros, Ones } from '../weights/initializers.js';
import { Layer, type ApplyOptions, type LayerConfig, type LayerOptions } from './layer.js';
import { registerLayer } from './registry.js';

/** Keras' backend epsilon: the smallest standard deviation divided by (so constant features stay finite). */
const STD_FLOOR = 1e-7;

/** Arguments of {@link Normalization}; defaults are Keras 3's. */
export interface NormalizationOptions extends LayerOptions {
  /**
   * Axis or axes that keep a separate mean and variance per index (every
   * other axis is reduced over by `adapt`). `null` (or `[]`): one scalar
   * mean and variance for all elements. Default -1 (per feature).
   */
  axis?: number | number[] | null;
  /** Fixed mean (instead of `adapt`); broadcast to the kept axes, aligned from the right. Give with `variance`. */
  mean?: TensorLike | null;
  /** Fixed variance (>= 0), same shape as `mean`. */
  variance?: TensorLike | null;
  /** Apply the inverse: `mean + x * std` (turn normalized values back). Default false. */
  invert?: boolean;
}

/** What {@link Normalization.getConfig} returns (JSON-serializable). */
export interface NormalizationConfig extends LayerConfig {
  axis: number | number[] | null;
  mean: NestedArray | null;
  variance: NestedArray | null;
  invert: boolean;
}

/** What {@link Normalization.adapt} accepts: one tensor, or a (possibly async) iterable of batches. */
export type AdaptData = TensorLike | Iterable<AdaptBatch> | AsyncIterable<AdaptBatch>;

/** One batch of {@link AdaptData}: a tensor, or an `[x, y, ...]` tuple whose first entry is used (as Keras' `(x, y)` batches). */
export type AdaptBatch = TensorLike | readonly [TensorLike, ...unknown[]];

/**
 * Running mean and sum of squared deviations, merged batch by batch with
 * Chan et al.'s parallel formula in float64: for two parts a, b of sizes
 * na, nb with means ma, mb and sums of squared deviations M2a, M2b,
 *   n = na + nb,  delta = mb - ma,
 *   mean = ma + delta * nb / n,
 *   M2 = M2a + M2b + delta^2 * na * nb / n,
 * which is algebraically the statistics of the concatenation (no
 * E[x^2] - E[x]^2 cancellation), so batch order and sizes do not matter.
 */
class MomentsAccumulator {
  count = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  constructor(size: number) {
    this.mean = new Float64Array(size);
    this.m2 = new Float64Array(size);
  }
  /** Merges a batch with `n` values per index, its per-index mean and biased variance. */
  merge(mean: ArrayLike<number>, variance: ArrayLike<number>, n: number): void {
    const total = this.count + n;
    const wb = n / total;
    const cross = (this.count * n) / total;
    for (let k = 0; k < this.mean.length; k++) {
      const delta = mean[k] - this.mean[k];
      this.mean[k] += delta * wb;
      this.m2[k] += variance[k] * n + delta * delta * cross;
    }
    this.count = total;
  }
  /** The biased variance of everything merged. */
  variance(): Float64Array {
    return this.m2.map((v) => v / this.count);
  }
}

function isAsyncIterable(x: unknown): x is AsyncIterable<AdaptBatch> {
  return typeof x === 'object' && x !== null && typeof (x as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** A single tensor-like (not a collection of batches): tensors, variables, numbers, typed arrays, nested number arrays. */
function isSingleTensorLike(x: unknown): boolean {
  if (typeof x === 'number' || x instanceof Tensor || dtypeOf(x) !== undefined) return true;
  if (isTensorSource(x)) return true;
  return Array.isArray(x) && x.length > 0 && x.every((e) => typeof e === 'number' || Array.isArray(e));
}

/**
 * The preprocessing layer `Normalization`, as Keras 3's: `(x - mean) / std`
 * with per-feature statistics learned once by {@link adapt} (or given), and
 * `std = max(sqrt(variance), 1e-7)` (Keras' floor, so constant features give
 * 0 instead of NaN). With `invert: true` it computes `mean + x * std`.
 *
 * `adapt(data)` accepts one tensor, or an iterable or async iterable of
 * batches (arrays of tensors, generators, streams); each batch's statistics
 * come from the native channel-statistics kernel and are merged exactly with
 * Chan's parallel formula in float64. The statistics are non-trainable
 * weights `mean` and `variance` (getWeights/setWeights/saveWeights).
 * The output is differentiable with respect to the input.
 *
 * @example
 * const norm = new nk.layers.Normalization({ axis: -1 });
 * norm.adapt(nk.tensor([[0, 7, 4], [2, 9, 6], [0, 7, 4], [2, 9, 6]]));
 * norm.apply(nk.tensor([[0, 7, 4]])).toArray();   // [[-1, -1, -1]]
 *
 * async function* batches() { for (const b of source) yield nk.tensor(b); }
 * await norm.adapt(batches());                       // streamed, exact merge
 *
 * const denorm = new nk.layers.Normalization({ mean: 3, variance: 2, invert: true });
 */
export class Normalization extends Layer {
  readonly axis: number | number[] | null;
  readonly invert: boolean;
  /** The fixed statistics given to the constructor, as given (null when adapted). */
  readonly fixedMean: Tensor | null;
  readonly fixedVariance: Tensor | null;

  /** Adapted statistics (null when the layer has fixed ones, or before it is built). */
  adaptMean: Variable | null = null;
  adaptVariance: Variable | null = null;

  /** Sorted kept axes, reduced axes and the input shape, fixed by build. */
  private keepAxes: number[] = [];
  private builtShape: readonly number[] = [];
  /** Fixed statistics broadcast to the kept axes' shape, set by build. */
  private fixedKept: [Tensor, Tensor] | null = null;

  /**
   * @param options Keras arguments in camelCase (see {@link NormalizationOptions})
   * @throws {TypeError}  for options of the wrong type
   * @throws {RangeError} for repeated axes, only one of mean/variance, mean and variance of different
   *   shapes or of higher rank than the kept axes, or a negative variance
   */
  constructor(options: NormalizationOptions = {}) {
    const api = 'Normalization';
    super(options, api);
    const { axis = -1, mean = null, variance = null, invert = false } = options;
    const axisOk = axis === null || Number.isInteger(axis) || (Array.isArray(axis) && axis.every((a) => Number.isInteger(a)));
    if (!axisOk) throw typeError(api, 'axis as an integer, an array of integers, or null', axis);
    if (Array.isArray(axis) && new Set(axis).size !== axis.length) throw rangeError(api, 'distinct axes', axis);
    if (typeof invert !== 'boolean') throw typeError(api, 'invert as a boolean', invert);
    if ((mean === null) !== (variance === null)) {
      throw rangeError(api, 'mean and variance given together', mean === null ? 'variance only' : 'mean only', true);
    }
    this.axis = Array.isArray(axis) ? axis.slice() : axis;
    this.invert = invert;
    this.fixedMean = null;
    this.fixedVariance = null;
    if (mean !== null && variance !== null) {
      const m = toTensor(mean, api, 'mean', 'float64');
      const v = toTensor(variance, api, 'variance', 'float64');
      if (m.rank !== v.rank || m.shape.some((d, i) => d !== v.shape[i])) {
        throw rangeError(api, 'mean and variance of the same shape', `[${m.shape.join(',')}] and [${v.shape.join(',')}]`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
      }
      const kept = this.axis === null ? 0 : Array.isArray(this.axis) ? this.axis.length : 1;
      if (m.rank > kept) {
        throw rangeError(api, `mean of rank <= ${kept} (the number of kept axes in axis ${describe(this.axis)})`, `shape [${m.shape.join(',')}]`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
      }
      const bad = Array.from(v.data).find((x) => !(x >= 0));
      if (bad !== undefined) throw rangeError(api, 'variance >= 0 everywhere', bad);
      this.fixedMean = m;
      this.fixedVariance = v;
    }
  }

  /**
   * Recreates a layer from {@link getConfig}'s output (adapted statistics are
   * weights, not config: restore them with setWeights or loadWeights).
   * @param config a config object
   * @returns a new, unbuilt layer
   * @throws {TypeError} when `config` is not an object; as the constructor otherwise
   */
  static fromConfig(config: Partial<NormalizationConfig>): Normalization {
    if (typeof config !== 'object' || config === null) throw typeError('Normalization.fromConfig', 'a config object', config);
    return new Normalization(config as NormalizationOptions);
  }

  /**
   * Normalizes `x` (or inverts, with `invert: true`).
   * @param x input with the kept axes of the adapted (or first) input
   * @param options `{ training }` (ignored: the layer behaves the same)
   * @returns a tensor of `x`'s shape in the layer's dtype
   * @throws {RangeError} (code ERR_NORMKIT_INVALID_STATE) before `adapt` when no mean/variance were given
   * @throws {RangeError} for an input whose kept axes differ from the adapted data's
   */
  override apply(x: TensorLike, options: ApplyOptions = {}): Tensor {
    this.assertReady(`${this.constructor.name}.apply`);
    return super.apply(x, options);
  }

  /** {@link apply} as a Promise; same errors, as a rejection. */
  override async applyAsync(x: TensorLike, options: ApplyOptions = {}): Promise<Tensor> {
    this.assertReady(`${this.constructor.name}.applyAsync`);
    return super.applyAsync(x, options);
  }

  private assertReady(api: string): void {
    if (!this.built && this.fixedMean === null) {
      throw new NormkitRangeError(
        `${api}: expected a layer with statistics (call adapt(data) first, or construct it with mean and variance), got an unadapted layer`,
        'ERR_NORMKIT_INVALID_STATE',
      );
    }
  }

  /**
   * Computes the mean and (biased) variance of `data` per index of the kept
   * axes and stores them as the layer's statistics, replacing earlier ones
   * (as Keras 3). Nothing changes when it throws.
   *
   * `data` is one tensor-like (a tensor, variable, typed array or nested
   * number array), or an iterable or async iterable of batches (an array of
   * tensors, a generator, a stream); a batch may be an `[x, y]` tuple, whose
   * `x` is used. Batches may differ in every reduced axis (e.g. a short last
   * batch); the kept axes must match. With an async iterable the result is a
   * Promise.
   *
   * @param data the data, or batches of it
   * @returns nothing, or a Promise for an async iterable
   * @throws {TypeError}  when `data` or a batch is not tensor-like
   * @throws {RangeError} for empty data (no batch, or no element to reduce), kept axes that differ
   *   between batches or from the built layer, an axis out of range, or a layer with fixed mean/variance
   * @example
   * norm.adapt(nk.randomNormal([1000, 8], { mean: 1e4, stddev: 1, seed: 1 }));
   * norm.adapt([batch1, batch2, batch3]);
   * await norm.adapt(asyncBatches());
   */
  adapt(data: TensorLike | Iterable<AdaptBatch>): void;
  adapt(data: AsyncIterable<AdaptBatch>): Promise<void>;
  adapt(data: AdaptData): void | Promise<void> {
    const api = `${this.constructor.name}.adapt`;
    if (this.fixedMean !== null) {
      throw rangeError(api, 'a layer without fixed statistics (constructed without mean and variance)', 'a layer constructed with mean and variance', true, 'ERR_NORMKIT_INVALID_STATE');
    }
    if (isSingleTensorLike(data)) {
      const state = this.adaptState(api);
      state.add(data as TensorLike);
      state.finish();
      return;
    }
    if (isAsyncIterable(data)) return this.adaptAsyncIterable(data, api);
    if (typeof data === 'object' && data !== null && typeof (data as Iterable<unknown>)[Symbol.iterator] === 'function') {
      const state = this.adaptState(api);
      for (const batch of data as Iterable<AdaptBatch>) state.add(batch);
      state.finish();
      return;
    }
    throw typeError(api, 'data as a tensor-like, or an iterable or async iterable of batches', data);
  }

  private async adaptAsyncIterable(data: AsyncIterable<AdaptBatch>, api: string): Promise<void> {
    const state = this.adaptState(api);
    for await (const batch of data) state.add(batch);
    state.finish();
  }

  /** The accumulation of one adapt call; state is written only by `finish`. */
  private adaptState(api: string): { add(batch: AdaptBatch): void; finish(): void } {
    let acc: MomentsAccumulator | null = null;
    let firstShape: readonly number[] | null = null;
    let keep: number[] = [];
    let reduce: number[] = [];
    let batches = 0;
    return {
      add: (batch: AdaptBatch) => {
        const param = `data (batch ${batches})`;
        const raw = Array.isArray(batch) && batch.length > 0 && !isSingleTensorLike(batch) ? batch[0] : batch;
        let x = toTensor(raw as TensorLike, api, param, this.dtype);
        if (x.dtype !== this.dtype) x = cast(x, this.dtype);
        if (firstShape === null) {
          keep = this.built ? this.keepAxes : this.resolveKeep(x.rank, api);
          reduce = x.shape.map((_, d) => d).filter((d) => !keep.includes(d));
          this.checkKept(x, this.built ? this.builtShape : null, keep, api, param);
          firstShape = x.shape.slice();
          acc = new MomentsAccumulator(keep.reduce((p, d) => p * x.shape[d], 1));
        } else {
          this.checkKept(x, firstShape, keep, api, param);
        }
        batches++;
        const n = reduce.reduce((p, d) => p * x.shape[d], 1);
        if (n === 0 || acc!.mean.length === 0) return;
        const { mean, variance } = moments(x, reduce);
        acc!.merge(mean.data, variance.data, n);
      },
      finish: () => {
        if (acc === null || acc.count === 0) {
          const got = firstShape === null ? 'no batches' : `no values to reduce (first batch of shape [${firstShape.join(',')}])`;
          throw rangeError(api, 'data with at least one value per kept index', got, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
        }
        if (!this.built) {
          this.buildFor(firstShape!);
        }
        this.adaptMean!.assign(new Tensor(Float64Array.from(acc.mean), this.adaptMean!.shape));
        this.adaptVariance!.assign(new Tensor(acc.variance(), this.adaptVariance!.shape));
      },
    };
  }

  /** Sorted, non-negative kept axes for inputs of `rank`. */
  private resolveKeep(rank: number, api: string): number[] {
    const list = this.axis === null ? [] : Array.isArray(this.axis) ? this.axis : [this.axis];
    const out: number[] = [];
    for (const a of list) {
      if (a < -rank || a >= rank) throw rangeError(api, `axis in [${-rank}, ${rank - 1}] for input of rank ${rank}`, a);
      out.push(a < 0 ? a + rank : a);
    }
    return out.sort((p, q) => p - q);
  }

  /** Checks that `x` has `expected`'s rank and kept dimensions (anything, when `expected` is null, but non-empty kept axes). */
  private checkKept(x: Tensor, expected: readonly number[] | null, keep: readonly number[], api: string, param: string): void {
    const shapeText = `shape [${x.shape.join(',')}]`;
    if (expected === null) {
      if (keep.some((d) => x.shape[d] === 0)) {
        throw rangeError(api, `${param} with non-empty kept axes (axis ${describe(this.axis)})`, shapeText, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
      }
      return;
    }
    if (x.rank !== expected.length || keep.some((d) => x.shape[d] !== expected[d])) {
      const want = keep.map((d) => expected[d]).join('x') || 'any';
      throw rangeError(api, `${param} of rank ${expected.length} with kept dimensions ${want} on axis ${describe(this.axis)}`, shapeText, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
  }

  protected checkInput(x: Tensor, api: string): void {
    if (this.built) {
      this.checkKept(x, this.builtShape, this.keepAxes, api, 'input');
      return;
    }
    const keep = this.resolveKeep(x.rank, api);
    this.checkKept(x, null, keep, api, 'input');
    if (this.fixedMean !== null) this.fixedBroadcast(keep.map((d) => x.shape[d]), api);
  }

  /** The fixed statistics aligned from the right with the kept axes and broadcast to `keptShape` (as Keras 3). */
  private fixedBroadcast(keptShape: readonly number[], api: string): [Tensor, Tensor] {
    const m = this.fixedMean!;
    const offset = keptShape.length - m.rank;
    const ok = m.shape.every((d, i) => d === 1 || d === keptShape[offset + i]);
    if (!ok) {
      throw rangeError(api, `mean and variance that broadcast to the kept dimensions [${keptShape.join(',')}]`, `shape [${m.shape.join(',')}]`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
    const expand = (t: Tensor) => {
      const aligned = new Tensor(t.data, [...new Array<number>(offset).fill(1), ...t.shape]);
      return cast(add(aligned, new Tensor(new Float64Array(keptShape.reduce((p, d) => p * d, 1)), keptShape)), this.dtype);
    };
    return [expand(m), expand(this.fixedVariance!)];
  }

  protected build(inputShape: readonly number[]): void {
    const api = `${this.constructor.name}.apply`;
    this.keepAxes = this.resolveKeep(inputShape.length, api);
    this.builtShape = inputShape.slice();
    const keptShape = this.keepAxes.map((d) => inputShape[d]);
    if (this.fixedMean !== null) {
      this.fixedKept = this.fixedBroadcast(keptShape, api);
      return;
    }
    this.adaptMean = this.addWeight('mean', keptShape, new Zeros(), false);
    this.adaptVariance = this.addWeight('variance', keptShape, new Ones(), false);
  }

  /** The statistics in use, reshaped to broadcast against inputs of the built rank. */
  private statistics(): { mean: Tensor; std: Tensor } {
    const [mean, variance] = this.fixedKept ?? [this.adaptMean!.snapshot(), this.adaptVariance!.snapshot()];
    const shape = this.builtShape.map((d, i) => (this.keepAxes.includes(i) ? d : 1));
    const std = variance.data.map((v) => Math.max(Math.sqrt(v), STD_FLOOR));
    return { mean: new Tensor(mean.data.slice(), shape), std: new Tensor(std, shape) };
  }

  protected call(x: Tensor, _options: ApplyOptions): Tensor {
    const { mean, std } = this.statistics();
    return this.invert ? add(mean, mul(x, std)) : div(sub(x, mean), std);
  }

  override getConfig(): NormalizationConfig {
    return {
      ...super.getConfig(),
      axis: Array.isArray(this.axis) ? this.axis.slice() : this.axis,
      mean: this.fixedMean ? this.fixedMean.toArray() : null,
      variance: this.fixedVariance ? this.fixedVariance.toArray() : null,
      invert: this.invert,
    };
  }
}

registerLayer('Normalization', (config) => Normalization.fromConfig(config as Partial<NormalizationConfig>));
