import { allocate, type FloatArray } from '../dtype.js';
import { rangeError, typeError } from '../errors.js';
import { native } from '../native.js';
import type { Variable } from '../variable.js';
import { Optimizer, type OptimizerOptions } from './optimizer.js';

/** Arguments of {@link SGD}; defaults are Keras'. */
export interface SGDOptions extends OptimizerOptions {
  /** Momentum in [0, 1] (default 0: plain gradient descent). */
  momentum?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
  /** @deprecated Keras 1 name of `learningRate`; accepted with a DeprecationWarning. */
  lr?: number;
}

let warnedLr = false;

/**
 * Stochastic gradient descent with optional (Nesterov) momentum, with Keras'
 * update rule:
 * `v = momentum * v - lr * g; var += nesterov ? momentum * v - lr * g : v`
 * (`var -= lr * g` without momentum). One native call per variable.
 *
 * @example
 * const opt = new nk.optimizers.SGD({ learningRate: 1e-2 });
 * opt.applyGradients(nk.zip(grads, net.trainableVariables));
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly nesterov: boolean;
  private velocities = new Map<Variable, FloatArray>();

  /**
   * @throws {TypeError}  for options of the wrong type
   * @throws {RangeError} for a learning rate that is NaN, infinite or negative, momentum outside [0, 1],
   *   or both `lr` and `learningRate`
   */
  constructor(options: SGDOptions = {}) {
    const api = 'SGD';
    if (typeof options !== 'object' || options === null) throw typeError(api, 'an options object', options);
    let resolved: OptimizerOptions = options;
    if (options.lr !== undefined) {
      if (options.learningRate !== undefined) throw rangeError(api, 'either learningRate or the deprecated lr', 'both', true);
      if (!warnedLr) {
        warnedLr = true;
        process.emitWarning('SGD: the `lr` option is deprecated, use `learningRate`', {
          type: 'DeprecationWarning',
          code: 'NORMKIT_DEP_LR',
        });
      }
      resolved = { ...options, learningRate: options.lr };
    }
    super(resolved, { learningRate: 0.01 }, api);
    const { momentum = 0, nesterov = false } = options;
    if (typeof momentum !== 'number') throw typeError(api, 'momentum as a number', momentum);
    if (!(momentum >= 0 && momentum <= 1)) throw rangeError(api, 'momentum in [0, 1]', momentum);
    if (typeof nesterov !== 'boolean') throw typeError(api, 'nesterov as a boolean', nesterov);
    this.momentum = momentum;
    this.nesterov = nesterov;
  }

  protected updateVariable(value: FloatArray, grad: FloatArray, variable: Variable): void {
    let velocity: FloatArray | null = null;
    if (this.momentum !== 0) {
      velocity = this.velocities.get(variable) ?? null;
      if (velocity === null) {
        velocity = allocate(variable.dtype, variable.size);
        this.velocities.set(variable, velocity);
      }
    }
    native.sgdUpdate(value, grad, velocity, this.learningRate, this.momentum, this.nesterov);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), momentum: this.momentum, nesterov: this.nesterov };
  }
}
