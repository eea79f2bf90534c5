/**
 * What the normalization layers share: epsilon and the learned affine
 * transform `y = xhat * gamma + beta` (with `center` / `scale` switching beta
 * / gamma off), and the initializers, regularizers and constraints of gamma
 * and beta, with Keras' defaults.
 */
import { getConstraint, type Constraint, type ConstraintConfig, type ConstraintIdentifier } from '../weights/constraints.js';
import { boolean, positive } from '../core/validate.js';
import { getInitializer, type Initializer, type InitializerConfig, type InitializerIdentifier } from '../weights/initializers.js';
import { getRegularizer, type Regularizer, type RegularizerConfig, type RegularizerIdentifier } from '../weights/regularizers.js';
import type { Variable } from '../core/variable.js';
import { Layer, type LayerConfig, type LayerOptions } from './layer.js';

/** The affine arguments every normalization layer takes (Keras names in camelCase). */
export interface AffineOptions extends LayerOptions {
  /** Added to the variance before the square root; finite and > 0. Default 1e-3. */
  epsilon?: number;
  /** Add the learned offset `beta`. Default true. */
  center?: boolean;
  /** Multiply by the learned scale `gamma`. Default true. */
  scale?: boolean;
  betaInitializer?: InitializerIdentifier;
  gammaInitializer?: InitializerIdentifier;
  betaRegularizer?: RegularizerIdentifier | null;
  gammaRegularizer?: RegularizerIdentifier | null;
  betaConstraint?: ConstraintIdentifier | null;
  gammaConstraint?: ConstraintIdentifier | null;
}

/** The affine arguments as `getConfig()` writes them (JSON-serializable). */
export interface AffineConfig extends LayerConfig {
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

/**
 * Base class of the normalization layers: checks and resolves the affine
 * arguments, creates gamma and beta, serializes the arguments.
 */
export abstract class AffineLayer extends Layer {
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: Initializer;
  readonly gammaInitializer: Initializer;
  readonly betaRegularizer: Regularizer | null;
  readonly gammaRegularizer: Regularizer | null;
  readonly betaConstraint: Constraint | null;
  readonly gammaConstraint: Constraint | null;

  gamma: Variable | null = null;
  beta: Variable | null = null;

  /**
   * @throws {TypeError} for a wrong type
   * @throws {RangeError} for epsilon <= 0 or not finite, unknown initializer/regularizer/constraint names
   */
  protected constructor(options: AffineOptions, api: string) {
    super(options, api);
    const { epsilon = 1e-3, center = true, scale = true } = options;
    this.epsilon = positive(api, 'epsilon', epsilon);
    this.center = boolean(api, 'center', center);
    this.scale = boolean(api, 'scale', scale);
    this.betaInitializer = getInitializer(api, 'betaInitializer', options.betaInitializer ?? 'zeros');
    this.gammaInitializer = getInitializer(api, 'gammaInitializer', options.gammaInitializer ?? 'ones');
    this.betaRegularizer = getRegularizer(api, 'betaRegularizer', options.betaRegularizer);
    this.gammaRegularizer = getRegularizer(api, 'gammaRegularizer', options.gammaRegularizer);
    this.betaConstraint = getConstraint(api, 'betaConstraint', options.betaConstraint);
    this.gammaConstraint = getConstraint(api, 'gammaConstraint', options.gammaConstraint);
  }

  /** Creates gamma (when `withGamma`) and beta (when `withBeta`) of `shape`, in that order. For `build`. */
  protected addAffineWeights(shape: readonly number[], withGamma = this.scale, withBeta = this.center): void {
    if (withGamma) {
      this.gamma = this.addWeight('gamma', shape, this.gammaInitializer, true, { regularizer: this.gammaRegularizer, constraint: this.gammaConstraint });
    }
    if (withBeta) {
      this.beta = this.addWeight('beta', shape, this.betaInitializer, true, { regularizer: this.betaRegularizer, constraint: this.betaConstraint });
    }
  }

  override getConfig(): AffineConfig {
    return {
      ...super.getConfig(),
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: this.betaInitializer.serialize(),
      gammaInitializer: this.gammaInitializer.serialize(),
      betaRegularizer: this.betaRegularizer?.serialize() ?? null,
      gammaRegularizer: this.gammaRegularizer?.serialize() ?? null,
      betaConstraint: this.betaConstraint?.serialize() ?? null,
      gammaConstraint: this.gammaConstraint?.serialize() ?? null,
    };
  }
}
