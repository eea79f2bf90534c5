import { describe, rangeError, typeError } from '../core/errors.js';
import { channelAxes } from '../core/validate.js';
import { layerNormAsync, layerNormOp } from '../ops/layer_norm.js';
import type { Tensor } from '../core/tensor.js';
import { AffineLayer, type AffineConfig, type AffineOptions } from './affine.js';
import type { ApplyOptions } from './layer.js';
import { registerLayer } from './registry.js';

/** Arguments of {@link LayerNormalization}; defaults are Keras 3's. */
export interface LayerNormalizationOptions extends AffineOptions {
  /** Axis or axes normalized over (statistics per position of the others); gamma/beta span them. Default -1. */
  axis?: number | number[];
  /**
   * Keras 3's `rms_scaling` (deprecated there): `y = x / sqrt(var + epsilon) * gamma`
   * with the mean-centered variance and no beta; `center` and `scale` are
   * ignored (gamma is always created, beta never). Default false.
   */
  rmsScaling?: boolean;
}

/** What {@link LayerNormalization.getConfig} returns. */
export interface LayerNormalizationConfig extends AffineConfig {
  axis: number | number[];
  rmsScaling: boolean;
}

/**
 * Layer normalization (Ba et al., 2016), as Keras 3's `LayerNormalization`:
 * each sample (each position of the axes not in `axis`) is normalized over
 * the `axis` axes with its own mean and biased variance,
 * `y = (x - mean) / sqrt(var + epsilon) * gamma + beta`, and `gamma`/`beta`
 * have the shape of the normalized axes (sorted, as Keras 3). The same in
 * training and inference; no moving statistics. Differentiable with respect
 * to the input, gamma and beta.
 *
 * Runs on the batch-norm kernels: the kept axes are the kernels' channel
 * (see `lib/ops/layer_norm.ts`).
 *
 * @example
 * const x = nk.randomNormal([4, 10, 16], { seed: 1 });
 * const ln = new nk.layers.LayerNormalization({ axis: -1 });
 * const y = ln.apply(x);                  // each of the 40 rows: mean 0, variance ~1
 * console.log(ln.gamma!.shape);           // [16]
 * const ln2 = new nk.layers.LayerNormalization({ axis: [1, 2] });
 * ln2.apply(x); console.log(ln2.gamma!.shape); // [10, 16]
 */
export class LayerNormalization extends AffineLayer {
  readonly axis: number | number[];
  readonly rmsScaling: boolean;

  /** Resolved (sorted, non-negative) normalized axes and the input shape, fixed by build. */
  private axes: number[] = [];

  /**
   * @param options Keras arguments in camelCase (see {@link LayerNormalizationOptions})
   * @throws {TypeError}  for options of the wrong type
   * @throws {RangeError} for epsilon <= 0 or not finite, repeated axes, unknown initializer/regularizer/constraint names
   */
  constructor(options: LayerNormalizationOptions = {}) {
    const api = 'LayerNormalization';
    super(options, api);
    const { axis = -1, rmsScaling = false } = options;
    const axisOk = Number.isInteger(axis) || (Array.isArray(axis) && axis.length > 0 && axis.every((a) => Number.isInteger(a)));
    if (!axisOk) throw typeError(api, 'axis as an integer or a non-empty array of integers', axis);
    if (Array.isArray(axis) && new Set(axis).size !== axis.length) throw rangeError(api, 'distinct axes', axis);
    if (typeof rmsScaling !== 'boolean') throw typeError(api, 'rmsScaling as a boolean', rmsScaling);
    this.axis = Array.isArray(axis) ? axis.slice() : axis;
    this.rmsScaling = rmsScaling;
  }

  /**
   * Recreates a layer from {@link getConfig}'s output.
   * @param config a config object
   * @returns a new, unbuilt layer
   * @throws {TypeError} when `config` is not an object; as the constructor otherwise
   */
  static fromConfig(config: Partial<LayerNormalizationConfig>): LayerNormalization {
    if (typeof config !== 'object' || config === null) throw typeError('LayerNormalization.fromConfig', 'a config object', config);
    return new LayerNormalization(config as LayerNormalizationOptions);
  }

  protected checkInput(x: Tensor, api: string): void {
    const shapeText = `shape [${x.shape.join(',')}]`;
    if (x.rank < 1) throw rangeError(api, 'input of rank >= 1', shapeText, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    if (!this.built) {
      const axes = channelAxes(api, 'axis', this.axis, x.rank);
      const empty = axes.filter((a) => x.shape[a] === 0);
      if (empty.length > 0) {
        throw rangeError(api, `non-empty normalized axes (axis ${describe(this.axis)})`, shapeText, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
      }
      return;
    }
    const expected = this.buildShape;
    if (x.rank !== expected.length || this.axes.some((a) => x.shape[a] !== expected[a])) {
      const want = this.axes.map((a) => expected[a]).join('x');
      throw rangeError(api, `input of rank ${expected.length} with ${want} features on axis ${describe(this.axis)}`, shapeText, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
  }

  protected build(inputShape: readonly number[]): void {
    this.axes = channelAxes(`${this.constructor.name}.apply`, 'axis', this.axis, inputShape.length);
        const paramShape = this.axes.map((a) => inputShape[a]);
    this.addAffineWeights(paramShape, this.scale || this.rmsScaling, this.center && !this.rmsScaling);
  }

  protected call(x: Tensor, _options: ApplyOptions): Tensor {
    const gamma = this.gamma ? this.gamma.read() : null;
    const beta = this.beta ? this.beta.read() : null;
    return layerNormOp(x, this.axes, gamma, beta, this.epsilon, this.rmsScaling);
  }

  /** The forward on the thread pool (statistics and normalization in `batchNormTrainAsync`); weights copied at call time. */
  protected override callAsync(x: Tensor, _options: ApplyOptions): Promise<Tensor> {
    const gamma = this.gamma ? this.gamma.read() : null;
    const beta = this.beta ? this.beta.read() : null;
    return layerNormAsync(x, this.axes, gamma, beta, this.epsilon, this.rmsScaling);
  }

  override getConfig(): LayerNormalizationConfig {
    return {
      ...super.getConfig(),
      axis: Array.isArray(this.axis) ? this.axis.slice() : this.axis,
      rmsScaling: this.rmsScaling,
    };
  }
}

registerLayer('LayerNormalization', (config) => LayerNormalization.fromConfig(config as Partial<LayerNormalizationConfig>));
