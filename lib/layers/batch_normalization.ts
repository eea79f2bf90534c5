import { dtypeOf, sharesMemory } from '../core/dtype.js';
import { describe, rangeError, typeError } from '../core/errors.js';
import { getInitializer, type Initializer, type InitializerConfig, type InitializerIdentifier } from '../weights/initializers.js';
import { axesAreAdjacent, channelLayout } from '../core/layout.js';
import { channelAxes, finite } from '../core/validate.js';
import {
  batchNormInferAsync,
  batchNormInferOp,
  batchNormTrainAsync,
  batchNormTrainOp,
  batchRenormTrainOp,
  ghostBatchNormTrainOp,
  type BatchNormStatsScratch,
  type RenormClipping,
} from '../ops/batch_norm.js';
import { add, mul, sqrt, square, sub, div } from '../ops/elementwise.js';
import { sum } from '../ops/reduction.js';
import { inversePerm, reshape, transpose } from '../ops/shape.js';
import { shapeText, Tensor, toTensor, type TensorLike } from '../core/tensor.js';
import type { Variable } from '../core/variable.js';
import { AffineLayer, type AffineConfig, type AffineOptions } from './affine.js';
import type { ApplyOptions } from './layer.js';
import { registerLayer } from './registry.js';

/** How the batch variance enters `moving_variance`. */
export type MovingVarianceCorrection = 'unbiased' | 'biased';

export type { RenormClipping };

/** Arguments of {@link BatchNormalization}; defaults are Keras'. */
export interface BatchNormalizationOptions extends AffineOptions {
  /** Channel axis or axes kept; every other axis is normalized over. Default -1. */
  axis?: number | number[];
  /** Moving-average momentum in [0, 1]: `moving = moving * momentum + batch * (1 - momentum)`. Default 0.99. */
  momentum?: number;
  movingMeanInitializer?: InitializerIdentifier;
  movingVarianceInitializer?: InitializerIdentifier;
  /** Batch renormalization (Ioffe 2017). Default false. */
  renorm?: boolean;
  renormClipping?: RenormClipping | null;
  /** Momentum of the renorm statistics, in [0, 1]. Default 0.99. */
  renormMomentum?: number;
  /** Ghost batch normalization: statistics over sub-batches of this size along axis 0. */
  virtualBatchSize?: number | null;
  /**
   * 'unbiased' (default): the batch variance is multiplied by n/(n-1) before it
   * enters `moving_variance`, as TF2's fused kernel and PyTorch do.
   * 'biased': it enters as is, as Keras 3 and TensorFlow.js do.
   */
  movingVarianceCorrection?: MovingVarianceCorrection;
}

/** Options of {@link BatchNormalization.apply}. */
export interface BatchNormalizationApplyOptions extends ApplyOptions {
  /**
   * Training only: 1 where a position counts for the batch statistics, 0
   * where it does not (Keras 3). Shape: the input's shape without the channel
   * axes. Every position is still normalized.
   */
  mask?: TensorLike;
  /**
   * A preallocated output (same shape and dtype as the input, memory not
   * shared with it) that receives the result and is returned: a steady-state
   * loop then allocates nothing large. The previous contents are overwritten.
   */
  out?: Tensor;
}

/** What {@link BatchNormalization.getConfig} returns: every argument, serializable as JSON. */
export interface BatchNormalizationConfig extends AffineConfig {
  axis: number | number[];
  momentum: number;
  movingMeanInitializer: InitializerConfig;
  movingVarianceInitializer: InitializerConfig;
  renorm: boolean;
  renormClipping: RenormClipping | null;
  renormMomentum: number;
  virtualBatchSize: number | null;
  movingVarianceCorrection: MovingVarianceCorrection;
}

/**
 * Batch normalization, as Keras' `BatchNormalization`:
 * `y = gamma * (x - mean) / sqrt(var + epsilon) + beta` per channel.
 *
 * - `apply(x)` (inference, the default) uses `moving_mean` / `moving_variance`.
 * - `apply(x, { training: true })` uses the batch statistics (biased variance)
 *   and updates the moving statistics; gradients flow through the batch statistics.
 * - `trainable: false` means inference mode and frozen statistics whatever
 *   `training` says (the TF2 rule).
 *
 * @example
 * const x = nk.randomNormal([2, 4, 4, 3], { mean: 1, stddev: 0.5, seed: 42 });
 * const net = new nk.layers.BatchNormalization({ axis: -1 });
 * const out = net.apply(x, { training: true });
 * console.log(net.variables.map(String));
 */
export class BatchNormalization extends AffineLayer {
  readonly axis: number | number[];
  readonly momentum: number;
  readonly movingVarianceCorrection: MovingVarianceCorrection;
  readonly movingMeanInitializer: Initializer;
  readonly movingVarianceInitializer: Initializer;
  readonly renorm: boolean;
  readonly renormClipping: Readonly<RenormClipping> | null;
  readonly renormMomentum: number;
  readonly virtualBatchSize: number | null;

  movingMean: Variable | null = null;
  movingVariance: Variable | null = null;
  renormMean: Variable | null = null;
  renormStddev: Variable | null = null;

  /** Resolved (non-negative, sorted) channel axes, fixed by build. */
  private axes: number[] = [];
  /** For non-adjacent channel axes: the permutation moving them last, and its inverse. */
  private perm: number[] | null = null;
  private invPerm: number[] | null = null;
  /** Batch statistics of the plain training path when no tape records (see batchNormTrainOp), made on first use. */
  private statsScratch: BatchNormStatsScratch | null = null;

  /**
   * @throws {TypeError}  for options of the wrong type
   * @throws {RangeError} for momentum outside [0, 1], epsilon <= 0 or not finite, unknown names, bad clipping
   */
  constructor(options: BatchNormalizationOptions = {}) {
    const api = 'BatchNormalization';
    super(options, api);
    const {
      axis = -1,
      momentum = 0.99,
      movingMeanInitializer = 'zeros',
      movingVarianceInitializer = 'ones',
      renorm = false,
      renormClipping = null,
      renormMomentum = 0.99,
      virtualBatchSize = null,
      movingVarianceCorrection = 'unbiased',
    } = options;
    const axisOk = Number.isInteger(axis) || (Array.isArray(axis) && axis.length > 0 && axis.every((a) => Number.isInteger(a)));
    if (!axisOk) throw typeError(api, 'axis as an integer or a non-empty array of integers', axis);
    if (Array.isArray(axis) && new Set(axis).size !== axis.length) throw rangeError(api, 'distinct axes', axis);
    this.momentum = finite(api, 'momentum', momentum, UNIT);
    if (typeof renorm !== 'boolean') throw typeError(api, 'renorm as a boolean', renorm);
    if (movingVarianceCorrection !== 'unbiased' && movingVarianceCorrection !== 'biased') {
      throw rangeError(api, `movingVarianceCorrection 'unbiased' or 'biased'`, movingVarianceCorrection);
    }
    if (virtualBatchSize !== null && !(Number.isSafeInteger(virtualBatchSize) && virtualBatchSize >= 1)) {
      throw rangeError(api, 'virtualBatchSize as a positive integer or null', virtualBatchSize);
    }
    if (renorm && virtualBatchSize !== null) {
      throw rangeError(api, 'renorm or virtualBatchSize, not both', 'both', true);
    }
    this.axis = Array.isArray(axis) ? axis.slice() : axis;
    this.renorm = renorm;
    this.renormClipping = renormClipping === null ? null : Object.freeze(checkClipping(api, renormClipping));
    this.renormMomentum = finite(api, 'renormMomentum', renormMomentum, UNIT);
    this.virtualBatchSize = virtualBatchSize;
    this.movingVarianceCorrection = movingVarianceCorrection;
    this.movingMeanInitializer = getInitializer(api, 'movingMeanInitializer', movingMeanInitializer);
    this.movingVarianceInitializer = getInitializer(api, 'movingVarianceInitializer', movingVarianceInitializer);
  }

  /** Recreates a layer from {@link getConfig}'s output. */
  static fromConfig(config: Partial<BatchNormalizationConfig>): BatchNormalization {
    if (typeof config !== 'object' || config === null) throw typeError('BatchNormalization.fromConfig', 'a config object', config);
    return new BatchNormalization(config as BatchNormalizationOptions);
  }

  /**
   * Runs the layer (see the class description).
   * @param x input of rank >= 2
   * @param options `{ training, mask }`
   * @throws {TypeError} for a non-tensor input or bad options
   * @throws {RangeError} for an input of another rank or channel count than the layer was built for,
   *   zero-size dimensions, one value per channel in training, or a bad mask
   */
  override apply(x: TensorLike, options: BatchNormalizationApplyOptions = {}): Tensor {
    return super.apply(x, options);
  }

  // Runs on every call: no closures or strings unless it throws (tsx's
  // keepNames turns every closure creation into a defineProperty call).
  protected checkInput(x: Tensor, api: string): void {
    if (x.rank < 2) throw rangeError(api, 'input of rank >= 2', `shape ${shapeText(x.shape)}`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    if (x.size === 0) throw rangeError(api, 'input without zero-size dimensions', `shape ${shapeText(x.shape)}`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    if (!this.built) {
      const axes = channelAxes(api, 'axis', this.axis, x.rank);
      if (this.virtualBatchSize !== null && axes.includes(0)) {
        throw rangeError(api, 'axis 0 (the batch) not among the channel axes with virtualBatchSize', `axis ${describe(this.axis)}`, true);
      }
      return;
    }
    const expected = this.buildShape;
    let bad = x.rank !== expected.length;
    for (let i = 0; i < this.axes.length && !bad; i++) bad = x.shape[this.axes[i]] !== expected[this.axes[i]];
    if (bad) {
      const want = this.axes.map((a) => expected[a]).join('x');
      throw rangeError(api, `input of rank ${expected.length} with ${want} channels on axis ${describe(this.axis)}`, `shape ${shapeText(x.shape)}`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
  }

  protected build(inputShape: readonly number[]): void {
    this.axes = channelAxes(`${this.constructor.name}.apply`, 'axis', this.axis, inputShape.length);
    if (!axesAreAdjacent(this.axes)) {
      const others = inputShape.map((_, d) => d).filter((d) => !this.axes.includes(d));
      this.perm = [...others, ...this.axes];
      this.invPerm = inversePerm(this.perm);
    }
    const paramShape = this.axes.map((a) => inputShape[a]);
    this.addAffineWeights(paramShape);
    this.movingMean = this.addWeight('moving_mean', paramShape, this.movingMeanInitializer, false);
    this.movingVariance = this.addWeight('moving_variance', paramShape, this.movingVarianceInitializer, false);
    if (this.renorm) {
      this.renormMean = this.addWeight('renorm_mean', paramShape, getInitializer('', '', 'zeros'), false);
      this.renormStddev = this.addWeight('renorm_stddev', paramShape, getInitializer('', '', 'ones'), false);
    }
  }

  protected call(x: Tensor, options: BatchNormalizationApplyOptions): Tensor {
    const api = `${this.constructor.name}.apply`;
    const training = (options.training ?? false) && this.trainable;
    const mask = options.mask === undefined || options.mask === null ? null : this.checkMask(options.mask, x, api);
    const out = options.out === undefined ? undefined : checkOut(api, options.out, x);
    // The composite paths (mask, transposed axes) build y from several ops and copy it into `out`.
    if (training && mask) return copyInto(this.maskedTrain(x, mask, api), out);
    if (this.perm) return copyInto(transpose(this.callAdjacent(transpose(x, this.perm), training, api), this.invPerm!), out);
    return this.callAdjacent(x, training, api, out);
  }

  /** The layer on an input whose channel axes are adjacent (or were made so). */
  private callAdjacent(x: Tensor, training: boolean, api: string, out?: Tensor): Tensor {
    const layout = channelLayout(x.shape, this.perm ? range(x.rank - this.axes.length, x.rank) : this.axes);
    const gamma = this.gamma ? this.gamma.read() : null;
    const beta = this.beta ? this.beta.read() : null;
    if (!training) {
      return batchNormInferOp(x, layout, gamma, beta, this.movingMean!._storage().data, this.movingVariance!._storage().data, this.epsilon, out);
    }
    if (this.virtualBatchSize !== null) return copyInto(this.ghostTrain(x, layout, gamma, beta, api), out);
    const n = layout.outer * layout.inner;
    this.checkCount(n, x, api);
    if (this.renorm) return this.renormTrain(x, layout, gamma, beta, n, out);
    const { y, mean, variance } = batchNormTrainOp(x, layout, gamma, beta, this.epsilon, out, this.scratchFor(x, layout.channels));
    this.updateMovingStats(mean, variance, n);
    return y;
  }

  /**
   * The layer's own buffers for the batch statistics (read by the moving
   * update right after the op): one ArrayBuffer, so they start off V8's heap
   * and the binding never has to move three fresh small arrays per call.
   */
  private scratchFor(x: Tensor, channels: number): BatchNormStatsScratch {
    const s = this.statsScratch;
    if (s !== null && s.mean.length === channels && dtypeOf(s.mean) === x.dtype) return s;
    const Arr = x.dtype === 'float32' ? Float32Array : Float64Array;
    const buffer = new ArrayBuffer(3 * channels * Arr.BYTES_PER_ELEMENT);
    const view = (k: number) => new Arr(buffer, k * channels * Arr.BYTES_PER_ELEMENT, channels);
    this.statsScratch = { mean: view(0), variance: view(1), invStd: view(2) };
    return this.statsScratch;
  }

  private checkCount(n: number, x: Tensor, api: string, what = 'value'): void {
    if (n < 2) {
      throw rangeError(api, 'more than one value per channel in training mode', `shape [${x.shape.join(',')}] (${n} ${what} per channel)`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
  }

  /** Keras' moving update, written as moving -= (moving - batch) * (1 - momentum). */
  private updateMovingStats(mean: ArrayLike<number>, variance: ArrayLike<number>, n: number): void {
    const decay = 1 - this.momentum;
    const correction = this.movingVarianceCorrection === 'unbiased' ? n / (n - 1) : 1;
    const mm = this.movingMean!._storage();
    const mv = this.movingVariance!._storage();
    for (let c = 0; c < mm.size; c++) {
      mm.data[c] -= (mm.data[c] - mean[c]) * decay;
      mv.data[c] -= (mv.data[c] - variance[c] * correction) * decay;
    }
    mm.version++;
    mv.version++;
  }

  /**
   * Batch renormalization (the op, batchRenormTrainOp, derives r and d from
   * the batch and renorm statistics). The renorm statistics move with
   * renormMomentum; the moving statistics as without renorm.
   */
  private renormTrain(x: Tensor, layout: ReturnType<typeof channelLayout>, gamma: Tensor | null, beta: Tensor | null, n: number, out?: Tensor): Tensor {
    const rm = this.renormMean!._storage();
    const rs = this.renormStddev!._storage();
    const { y, mean: bm, variance: bv, stddev } = batchRenormTrainOp(x, layout, gamma, beta, this.epsilon, rm.data, rs.data, this.renormClipping ?? {}, out);
    this.updateMovingStats(bm, bv, n);
    const decay = 1 - this.renormMomentum;
    for (let c = 0; c < layout.channels; c++) {
      rm.data[c] -= (rm.data[c] - bm[c]) * decay;
      rs.data[c] -= (rs.data[c] - stddev[c]) * decay;
    }
    rm.version++;
    rs.version++;
    return y;
  }

  /** Ghost batch normalization; the moving statistics take the mean of the ghost batches' statistics (Keras). */
  private ghostTrain(x: Tensor, layout: ReturnType<typeof channelLayout>, gamma: Tensor | null, beta: Tensor | null, api: string): Tensor {
    const vbs = this.virtualBatchSize!;
    const batch = x.shape[0];
    if (batch % vbs !== 0) {
      throw rangeError(api, `a batch size divisible by virtualBatchSize ${vbs}`, `shape [${x.shape.join(',')}]`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
    const groups = batch / vbs;
    const slab = { outer: layout.outer / groups, channels: layout.channels, inner: layout.inner };
    const n = slab.outer * slab.inner;
    this.checkCount(n, x, api, 'value per virtual batch and');
    const { y, mean, variance } = ghostBatchNormTrainOp(x, slab, groups, gamma, beta, this.epsilon);
    const C = layout.channels;
    const avgMean = new Float64Array(C);
    const avgVar = new Float64Array(C);
    for (let g = 0; g < groups; g++) {
      for (let c = 0; c < C; c++) {
        avgMean[c] += mean[g * C + c] / groups;
        avgVar[c] += variance[g * C + c] / groups;
      }
    }
    this.updateMovingStats(avgMean, avgVar, n);
    return y;
  }

  private checkMask(mask: TensorLike, x: Tensor, api: string): Tensor {
    const m = toTensor(mask, api, 'options.mask', x.dtype);
    const expected = x.shape.filter((_, d) => !this.axes.includes(d));
    if (m.rank !== expected.length || m.shape.some((d, i) => d !== expected[i])) {
      throw rangeError(api, `options.mask of shape [${expected.join(',')}] (the input's shape without the channel axes)`, `shape [${m.shape.join(',')}]`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
    for (let i = 0; i < m.size; i++) {
      if (m.data[i] !== 0 && m.data[i] !== 1) throw rangeError(api, 'options.mask of 0 and 1 values', `${m.data[i]} at index ${i}`, true);
    }
    return m;
  }

  /**
   * Statistics over the unmasked positions only (Keras 3), every position
   * normalized. Built from differentiable ops, so gradients flow through the
   * masked mean and variance:
   *   mean = sum(w x) / n,  var = sum(w (x - mean)^2) / n,  n = sum(w).
   */
  private maskedTrain(x: Tensor, mask: Tensor, api: string): Tensor {
    let n = 0;
    for (let i = 0; i < mask.size; i++) n += mask.data[i];
    this.checkCount(n, x, api, 'unmasked value');
    const reduceAxes = x.shape.map((_, d) => d).filter((d) => !this.axes.includes(d));
    const w = reshape(mask, x.shape.map((d, i) => (this.axes.includes(i) ? 1 : d)));
    const paramShape = x.shape.map((d, i) => (this.axes.includes(i) ? d : 1));
    const mean = div(sum(mul(x, w), reduceAxes, true), n);
    const centered = sub(x, mean);
    const variance = div(sum(mul(square(centered), w), reduceAxes, true), n);
    let y = div(centered, sqrt(add(variance, this.epsilon)));
    if (this.gamma) y = mul(y, reshape(this.gamma, paramShape));
    if (this.beta) y = add(y, reshape(this.beta, paramShape));
    this.updateMovingStats(mean.data, variance.data, n);
    return y;
  }

  /** The async ops (native kernels on the libuv pool) for the plain paths; renorm, ghost batches and masks run synchronously. */
  protected override async callAsync(x: Tensor, options: BatchNormalizationApplyOptions): Promise<Tensor> {
    const api = `${this.constructor.name}.applyAsync`;
    const training = (options.training ?? false) && this.trainable;
    if (this.perm || options.mask !== undefined || options.out !== undefined || (training && (this.renorm || this.virtualBatchSize !== null))) {
      return this.call(x, options);
    }
    const layout = channelLayout(x.shape, this.axes);
    const gamma = this.gamma ? this.gamma.read() : null;
    const beta = this.beta ? this.beta.read() : null;
    if (!training) {
      return batchNormInferAsync(x, layout, gamma, beta, this.movingMean!._storage().data, this.movingVariance!._storage().data, this.epsilon);
    }
    const n = layout.outer * layout.inner;
    this.checkCount(n, x, api);
    const { y, mean, variance } = await batchNormTrainAsync(x, layout, gamma, beta, this.epsilon);
    this.updateMovingStats(mean, variance, n);
    return y;
  }

  override getConfig(): BatchNormalizationConfig {
    return {
      ...super.getConfig(),
      axis: Array.isArray(this.axis) ? this.axis.slice() : this.axis,
      momentum: this.momentum,
      movingMeanInitializer: this.movingMeanInitializer.serialize(),
      movingVarianceInitializer: this.movingVarianceInitializer.serialize(),
      renorm: this.renorm,
      renormClipping: this.renormClipping ? { ...this.renormClipping } : null,
      renormMomentum: this.renormMomentum,
      virtualBatchSize: this.virtualBatchSize,
      movingVarianceCorrection: this.movingVarianceCorrection,
    };
  }
}

registerLayer('BatchNormalization', BatchNormalization.fromConfig);

/** Momentum bounds: [0, 1]. */
const UNIT = Object.freeze({ min: 0, max: 1 });

/** `options.out` of `apply`: a tensor like `x` that shares no memory with it. */
function checkOut(api: string, out: unknown, x: Tensor): Tensor {
  if (!(out instanceof Tensor)) throw typeError(api, 'options.out as a Tensor', out);
  if (out.dtype !== x.dtype || out.rank !== x.rank || out.shape.some((d, i) => d !== x.shape[i])) {
    throw rangeError(api, `options.out as a ${x.dtype} tensor of shape [${x.shape.join(',')}]`, describe(out), true, 'ERR_NORMKIT_SHAPE_MISMATCH');
  }
  if (sharesMemory(out.data, x.data)) {
    throw rangeError(api, 'options.out not sharing memory with the input', 'overlapping buffers', true);
  }
  return out;
}

function copyInto(y: Tensor, out: Tensor | undefined): Tensor {
  if (!out) return y;
  out.data.set(y.data);
  out.version++;
  return out;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** Keras' renorm clipping: only the keys rmax, rmin, dmax, each a number or null. */
function checkClipping(api: string, c: unknown): RenormClipping {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw typeError(api, 'renormClipping as { rmax, rmin, dmax } or null', c);
  const out: RenormClipping = {};
  for (const [k, v] of Object.entries(c)) {
    if (k !== 'rmax' && k !== 'rmin' && k !== 'dmax') throw rangeError(api, 'renormClipping keys rmax, rmin, dmax', `key "${k}"`, true);
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || Number.isNaN(v)) throw typeError(api, `renormClipping.${k} as a number`, v);
    out[k] = v;
  }
  if (out.rmax !== undefined && out.rmax < 1) throw rangeError(api, 'renormClipping.rmax >= 1', out.rmax);
  if (out.rmin !== undefined && !(out.rmin > 0 && out.rmin <= 1)) throw rangeError(api, 'renormClipping.rmin in (0, 1]', out.rmin);
  if (out.dmax !== undefined && out.dmax < 0) throw rangeError(api, 'renormClipping.dmax >= 0', out.dmax);
  return out;
}
