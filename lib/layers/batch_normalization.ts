import { describe, rangeError, typeError } from '../errors.js';
import { getInitializer, type Initializer, type InitializerIdentifier, type InitializerConfig } from '../initializers.js';
import { axesAreAdjacent, channelLayout, resolveAxes } from '../layout.js';
import { batchNormInferOp, batchNormTrainOp } from '../ops/batch_norm.js';
import { Tensor } from '../tensor.js';
import type { Variable } from '../variable.js';
import { Layer, type ApplyOptions, type LayerConfig, type LayerOptions } from './layer.js';

/** How the batch variance enters `moving_variance`. */
export type MovingVarianceCorrection = 'unbiased' | 'biased';

/** Arguments of {@link BatchNormalization}; defaults are Keras'. */
export interface BatchNormalizationOptions extends LayerOptions {
  /** Channel axis (or adjacent axes) kept; every other axis is normalized over. Default -1. */
  axis?: number | number[];
  /** Moving-average momentum in [0, 1]: `moving = moving * momentum + batch * (1 - momentum)`. Default 0.99. */
  momentum?: number;
  /** Added to the variance before the square root; finite and > 0. Default 1e-3. */
  epsilon?: number;
  /** Add the learned offset `beta`. Default true. */
  center?: boolean;
  /** Multiply by the learned scale `gamma`. Default true. */
  scale?: boolean;
  betaInitializer?: InitializerIdentifier;
  gammaInitializer?: InitializerIdentifier;
  movingMeanInitializer?: InitializerIdentifier;
  movingVarianceInitializer?: InitializerIdentifier;
  /**
   * 'unbiased' (default): the batch variance is multiplied by n/(n-1) before it
   * enters `moving_variance`, as TF2's fused kernel and PyTorch do.
   * 'biased': it enters as is, as Keras 3 and TensorFlow.js do.
   */
  movingVarianceCorrection?: MovingVarianceCorrection;
}

/** What {@link BatchNormalization.getConfig} returns. */
export interface BatchNormalizationConfig extends LayerConfig {
  axis: number | number[];
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  betaInitializer: InitializerConfig;
  gammaInitializer: InitializerConfig;
  movingMeanInitializer: InitializerConfig;
  movingVarianceInitializer: InitializerConfig;
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
export class BatchNormalization extends Layer {
  readonly axis: number | number[];
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly movingVarianceCorrection: MovingVarianceCorrection;
  readonly betaInitializer: Initializer;
  readonly gammaInitializer: Initializer;
  readonly movingMeanInitializer: Initializer;
  readonly movingVarianceInitializer: Initializer;

  gamma: Variable | null = null;
  beta: Variable | null = null;
  movingMean: Variable | null = null;
  movingVariance: Variable | null = null;

  /** Resolved (non-negative, sorted) channel axes and the input rank, fixed by build. */
  private axes: number[] = [];
  private inputShape: readonly number[] = [];

  /**
   * @throws {TypeError}  for options of the wrong type
   * @throws {RangeError} for momentum outside [0, 1], epsilon <= 0 or not finite, unknown names
   */
  constructor(options: BatchNormalizationOptions = {}) {
    const api = 'BatchNormalization';
    super(options, api);
    const {
      axis = -1,
      momentum = 0.99,
      epsilon = 1e-3,
      center = true,
      scale = true,
      betaInitializer = 'zeros',
      gammaInitializer = 'ones',
      movingMeanInitializer = 'zeros',
      movingVarianceInitializer = 'ones',
      movingVarianceCorrection = 'unbiased',
    } = options;
    const axisOk = Number.isInteger(axis) || (Array.isArray(axis) && axis.length > 0 && axis.every((a) => Number.isInteger(a)));
    if (!axisOk) throw typeError(api, 'axis as an integer or a non-empty array of integers', axis);
    if (Array.isArray(axis) && new Set(axis).size !== axis.length) throw rangeError(api, 'distinct axes', axis);
    if (typeof momentum !== 'number') throw typeError(api, 'momentum as a number', momentum);
    if (!(momentum >= 0 && momentum <= 1)) throw rangeError(api, 'momentum in [0, 1]', momentum);
    if (typeof epsilon !== 'number') throw typeError(api, 'epsilon as a number', epsilon);
    if (!(epsilon > 0 && Number.isFinite(epsilon))) throw rangeError(api, 'epsilon finite and > 0', epsilon);
    if (typeof center !== 'boolean') throw typeError(api, 'center as a boolean', center);
    if (typeof scale !== 'boolean') throw typeError(api, 'scale as a boolean', scale);
    if (movingVarianceCorrection !== 'unbiased' && movingVarianceCorrection !== 'biased') {
      throw rangeError(api, `movingVarianceCorrection 'unbiased' or 'biased'`, movingVarianceCorrection);
    }
    this.axis = Array.isArray(axis) ? axis.slice() : axis;
    this.momentum = momentum;
    this.epsilon = epsilon;
    this.center = center;
    this.scale = scale;
    this.movingVarianceCorrection = movingVarianceCorrection;
    this.betaInitializer = getInitializer(betaInitializer, api, 'betaInitializer');
    this.gammaInitializer = getInitializer(gammaInitializer, api, 'gammaInitializer');
    this.movingMeanInitializer = getInitializer(movingMeanInitializer, api, 'movingMeanInitializer');
    this.movingVarianceInitializer = getInitializer(movingVarianceInitializer, api, 'movingVarianceInitializer');
  }

  /** Recreates a layer from {@link getConfig}'s output. */
  static fromConfig(config: Partial<BatchNormalizationConfig>): BatchNormalization {
    if (typeof config !== 'object' || config === null) throw typeError('BatchNormalization.fromConfig', 'a config object', config);
    return new BatchNormalization(config as BatchNormalizationOptions);
  }

  protected checkInput(x: Tensor): void {
    const api = `${this.constructor.name}.apply`;
    if (x.rank < 2) throw rangeError(api, 'input of rank >= 2', `shape [${x.shape.join(',')}]`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    if (x.size === 0) throw rangeError(api, 'input without zero-size dimensions', `shape [${x.shape.join(',')}]`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    if (!this.built) {
      const axes = resolveAxes(this.axis, x.rank, api, 'axis');
      if (!axesAreAdjacent(axes)) {
        throw rangeError(api, 'adjacent channel axes', `axis [${axes.join(',')}]`, true);
      }
      return;
    }
    const expected = this.inputShape;
    const bad = x.rank !== expected.length || this.axes.some((a) => x.shape[a] !== expected[a]);
    if (bad) {
      const want = this.axes.map((a) => expected[a]).join('x');
      throw rangeError(
        api,
        `input of rank ${expected.length} with ${want} channels on axis ${describe(this.axis)}`,
        `shape [${x.shape.join(',')}]`,
        true,
        'ERR_NORMKIT_SHAPE_MISMATCH',
      );
    }
  }

  protected build(inputShape: readonly number[]): void {
    this.axes = resolveAxes(this.axis, inputShape.length, `${this.constructor.name}.apply`, 'axis');
    this.inputShape = inputShape.slice();
    const paramShape = this.axes.map((a) => inputShape[a]);
    if (this.scale) this.gamma = this.addWeight('gamma', paramShape, this.gammaInitializer, true);
    if (this.center) this.beta = this.addWeight('beta', paramShape, this.betaInitializer, true);
    this.movingMean = this.addWeight('moving_mean', paramShape, this.movingMeanInitializer, false);
    this.movingVariance = this.addWeight('moving_variance', paramShape, this.movingVarianceInitializer, false);
  }

  protected call(x: Tensor, options: ApplyOptions): Tensor {
    const layout = channelLayout(x.shape, this.axes);
    const gamma = this.gamma ? this.gamma.read() : null;
    const beta = this.beta ? this.beta.read() : null;
    const movingMean = this.movingMean!._storage();
    const movingVariance = this.movingVariance!._storage();
    if (!(options.training && this.trainable)) {
      return batchNormInferOp(x, layout, gamma, beta, movingMean.data, movingVariance.data, this.epsilon);
    }
    const n = layout.outer * layout.inner;
    if (n < 2) {
      throw rangeError(
        `${this.constructor.name}.apply`,
        'more than one value per channel in training mode',
        `shape [${x.shape.join(',')}] (${n} value per channel)`,
        true,
        'ERR_NORMKIT_SHAPE_MISMATCH',
      );
    }
    const { y, mean, variance } = batchNormTrainOp(x, layout, gamma, beta, this.epsilon);
    // Keras' moving update, written as moving -= (moving - batch) * (1 - momentum).
    const decay = 1 - this.momentum;
    const correction = this.movingVarianceCorrection === 'unbiased' ? n / (n - 1) : 1;
    const mm = movingMean.data;
    const mv = movingVariance.data;
    for (let c = 0; c < mm.length; c++) {
      mm[c] -= (mm[c] - mean[c]) * decay;
      mv[c] -= (mv[c] - variance[c] * correction) * decay;
    }
    movingMean.version++;
    movingVariance.version++;
    return y;
  }

  override getConfig(): BatchNormalizationConfig {
    return {
      ...super.getConfig(),
      axis: Array.isArray(this.axis) ? this.axis.slice() : this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: this.betaInitializer.serialize(),
      gammaInitializer: this.gammaInitializer.serialize(),
      movingMeanInitializer: this.movingMeanInitializer.serialize(),
      movingVarianceInitializer: this.movingVarianceInitializer.serialize(),
      movingVarianceCorrection: this.movingVarianceCorrection,
    };
  }
}
