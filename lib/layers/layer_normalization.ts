import { getConstraint, type Constraint, type ConstraintConfig, type ConstraintIdentifier } from '../constraints.js';
import { describe, rangeError, typeError } from '../errors.js';
import { getInitializer, type Initializer, type InitializerConfig, type InitializerIdentifier } from '../initializers.js';
import { resolveAxes } from '../layout.js';
import { layerNormAsync, layerNormOp } from '../ops/layer_norm.js';
import { getRegularizer, type Regularizer, type RegularizerConfig, type RegularizerIdentifier } from '../regularizers.js';
import type { Tensor } from '../tensor.js';
import type { Variable } from '../variable.js';
import { Layer, type ApplyOptions, type LayerConfig, type LayerOptions } from './layer.js';
import { registerLayer } from './registry.js';

/** Arguments of {@link LayerNormalization}; defaults are Keras 3's. */
export interface LayerNormalizationOptions extends LayerOptions {
  /** Axis or axes normalized over (statistics per position of the others); gamma/beta span them. Default -1. */
  axis?: number | number[];
  /** Added to the variance before the square root; finite and > 0. Default 1e-3. */
  epsilon?: number;
  /** Add the learned offset `beta`. Default true. */
  center?: boolean;
  /** Multiply by the learned scale `gamma`. Default true. */
  scale?: boolean;
  /**
   * Keras 3's `rms_scaling` (deprecated there): `y = x / sqrt(var + epsilon) * gamma`
   * with the mean-centered variance and no beta; `center` and `scale` are
   * ignored (gamma is always created, beta never). Default false.
   */
  rmsScaling?: boolean;
  betaInitializer?: InitializerIdentifier;
  gammaInitializer?: InitializerIdentifier;
  betaRegularizer?: RegularizerIdentifier | null;
  gammaRegularizer?: RegularizerIdentifier | null;
  betaConstraint?: ConstraintIdentifier | null;
  gammaConstraint?: ConstraintIdentifier | null;
}

/** Serialized affine arguments, shared by LayerNormalization's and GroupNormalization's configs. */
export interface AffineConfig {
  epsilon: number;
  center: boolean;
  scale: boolean;
  betaInitializer: InitializerConfig;
  gammaInitializer: InitializerConfig;
  betaRegularizer: RegularizerConfig | null;
  gammaRegularizer: RegularizerConfig | null;
  betaConstraint: ConstraintConfig | null;
  gammaConstraint: ConstraintConfig | null;
}

/** What {@link LayerNormalization.getConfig} returns. */
export interface LayerNormalizationConfig extends LayerConfig {
  axis: number | number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  rmsScaling: boolean;
  betaInitializer: InitializerConfig;
  gammaInitializer: InitializerConfig;
  betaRegularizer: RegularizerConfig | null;
  gammaRegularizer: RegularizerConfig | null;
  betaConstraint: ConstraintConfig | null;
  gammaConstraint: ConstraintConfig | null;
}

/** Validated affine arguments shared by the layer-statistics layers. */
export interface AffineArguments {
  epsilon: number;
  center: boolean;
  scale: boolean;
  betaInitializer: Initializer;
  gammaInitializer: Initializer;
  betaRegularizer: Regularizer | null;
  gammaRegularizer: Regularizer | null;
  betaConstraint: Constraint | null;
  gammaConstraint: Constraint | null;
}

/**
 * Checks and resolves epsilon, center, scale and the beta/gamma
 * initializers, regularizers and constraints (Keras defaults).
 * @param options the layer's options
 * @param api layer name for messages
 * @returns the resolved arguments
 * @throws {TypeError} for a wrong type; {RangeError} for epsilon <= 0 or not finite, unknown names
 * @example
 * const a = affineArguments({ epsilon: 1e-5 }, 'GroupNormalization');
 */
export function affineArguments(options: LayerNormalizationOptions, api: string): AffineArguments {
  const { epsilon = 1e-3, center = true, scale = true } = options;
  if (typeof epsilon !== 'number') throw typeError(api, 'epsilon as a number', epsilon);
  if (!(epsilon > 0 && Number.isFinite(epsilon))) throw rangeError(api, 'epsilon finite and > 0', epsilon);
  if (typeof center !== 'boolean') throw typeError(api, 'center as a boolean', center);
  if (typeof scale !== 'boolean') throw typeError(api, 'scale as a boolean', scale);
  return {
    epsilon,
    center,
    scale,
    betaInitializer: getInitializer(options.betaInitializer ?? 'zeros', api, 'betaInitializer'),
    gammaInitializer: getInitializer(options.gammaInitializer ?? 'ones', api, 'gammaInitializer'),
    betaRegularizer: getRegularizer(options.betaRegularizer, api, 'betaRegularizer'),
    gammaRegularizer: getRegularizer(options.gammaRegularizer, api, 'gammaRegularizer'),
    betaConstraint: getConstraint(options.betaConstraint, api, 'betaConstraint'),
    gammaConstraint: getConstraint(options.gammaConstraint, api, 'gammaConstraint'),
  };
}

/**
 * Serialized affine arguments (initializers, regularizers, constraints).
 * @param a resolved arguments
 * @returns the config entries
 * @example
 * serializeAffine(layer);
 */
export function serializeAffine(a: AffineArguments): AffineConfig {
  return {
    epsilon: a.epsilon,
    center: a.center,
    scale: a.scale,
    betaInitializer: a.betaInitializer.serialize(),
    gammaInitializer: a.gammaInitializer.serialize(),
    betaRegularizer: a.betaRegularizer ? a.betaRegularizer.serialize() : null,
    gammaRegularizer: a.gammaRegularizer ? a.gammaRegularizer.serialize() : null,
    betaConstraint: a.betaConstraint ? a.betaConstraint.serialize() : null,
    gammaConstraint: a.gammaConstraint ? a.gammaConstraint.serialize() : null,
  };
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
export class LayerNormalization extends Layer {
  readonly axis: number | number[];
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly rmsScaling: boolean;
  readonly betaInitializer: Initializer;
  readonly gammaInitializer: Initializer;
  readonly betaRegularizer: Regularizer | null;
  readonly gammaRegularizer: Regularizer | null;
  readonly betaConstraint: Constraint | null;
  readonly gammaConstraint: Constraint | null;

  gamma: Variable | null = null;
  beta: Variable | null = null;

  /** Resolved (sorted, non-negative) normalized axes and the input shape, fixed by build. */
  private axes: number[] = [];
  private builtShape: readonly number[] = [];

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
    const a = affineArguments(options, api);
    this.axis = Array.isArray(axis) ? axis.slice() : axis;
    this.rmsScaling = rmsScaling;
    this.epsilon = a.epsilon;
    this.center = a.center;
    this.scale = a.scale;
    this.betaInitializer = a.betaInitializer;
    this.gammaInitializer = a.gammaInitializer;
    this.betaRegularizer = a.betaRegularizer;
    this.gammaRegularizer = a.gammaRegularizer;
    this.betaConstraint = a.betaConstraint;
    this.gammaConstraint = a.gammaConstraint;
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
      const axes = resolveAxes(this.axis, x.rank, api, 'axis');
      const empty = axes.filter((a) => x.shape[a] === 0);
      if (empty.length > 0) {
        throw rangeError(api, `non-empty normalized axes (axis ${describe(this.axis)})`, shapeText, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
      }
      return;
    }
    const expected = this.builtShape;
    if (x.rank !== expected.length || this.axes.some((a) => x.shape[a] !== expected[a])) {
      const want = this.axes.map((a) => expected[a]).join('x');
      throw rangeError(api, `input of rank ${expected.length} with ${want} features on axis ${describe(this.axis)}`, shapeText, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
  }

  protected build(inputShape: readonly number[]): void {
    this.axes = resolveAxes(this.axis, inputShape.length, `${this.constructor.name}.apply`, 'axis');
    this.builtShape = inputShape.slice();
    const paramShape = this.axes.map((a) => inputShape[a]);
    if (this.scale || this.rmsScaling) {
      this.gamma = this.addWeight('gamma', paramShape, this.gammaInitializer, true, { regularizer: this.gammaRegularizer, constraint: this.gammaConstraint });
    }
    if (this.center && !this.rmsScaling) {
      this.beta = this.addWeight('beta', paramShape, this.betaInitializer, true, { regularizer: this.betaRegularizer, constraint: this.betaConstraint });
    }
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
      ...serializeAffine(this),
      rmsScaling: this.rmsScaling,
    };
  }
}

registerLayer('LayerNormalization', (config) => LayerNormalization.fromConfig(config as Partial<LayerNormalizationConfig>));
