import type { FloatArray } from '../core/dtype.js';
import { native } from '../native.js';
import type { Variable } from '../core/variable.js';
import { Optimizer, type OptimizerOptions, type UpdateStep } from './optimizer.js';
import { boolean, finite, nonNegative } from '../core/validate.js';

/** Arguments of {@link RMSprop}; defaults are Keras 3's. */
export interface RMSpropOptions extends OptimizerOptions {
  /** Discount of the squared-gradient average, in [0, 1] (default 0.9; TensorFlow.js calls it `decay`). */
  rho?: number;
  /** Momentum in [0, 1] (default 0: none). */
  momentum?: number;
  /** Added inside the square root; finite, >= 0 (default 1e-7). */
  epsilon?: number;
  /** Divide by the estimated variance of the gradient instead of its second moment (default false). */
  centered?: boolean;
}

/**
 * RMSprop with Keras 3's update rule (learning rate 0.001 by default):
 * ```
 * velocity = rho * velocity + (1 - rho) * g^2
 * centered: avg = rho * avg + (1 - rho) * g;  denominator = velocity - avg^2 + epsilon
 * else:     denominator = velocity + epsilon
 * increment = lr * g / sqrt(denominator)
 * momentum > 0: moment = momentum * moment + increment; var -= moment
 * else:         var -= increment
 * ```
 * Slots: 'velocity', 'momentum' (when momentum > 0), 'averageGradient' (centered).
 * TensorFlow.js' `tf.train.rmsprop` subtracts epsilon in the centered case
 * (`sqrt(velocity - (avg^2 + epsilon))`); both agree when epsilon is 0.
 *
 * @param options see {@link RMSpropOptions} and {@link OptimizerOptions}
 * @throws {TypeError}  for options of the wrong type or an unknown option (including `lr`)
 * @throws {RangeError} for rho or momentum outside [0, 1], a negative or non-finite epsilon or
 *   learning rate, a clip option <= 0, or more than one clip option
 * @example
 * const opt = new nk.optimizers.RMSprop({ learningRate: 1e-3, momentum: 0.9, centered: true });
 * opt.applyGradients(nk.zip(grads, net.trainableVariables));
 */
export class RMSprop extends Optimizer {
  static override readonly className: string = 'RMSprop';
  /** Keras 3's defaults. */
  static override readonly defaults = { learningRate: 0.001, name: 'rmsprop' };
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;

  constructor(options: RMSpropOptions = {}) {
    super(options, ['rho', 'momentum', 'epsilon', 'centered']);
    const api = this.api;
    const { rho = 0.9, momentum = 0, epsilon = 1e-7, centered = false } = options;
    this.rho = finite(api, 'rho', rho, { min: 0, max: 1 });
    this.momentum = finite(api, 'momentum', momentum, { min: 0, max: 1 });
    this.epsilon = nonNegative(api, 'epsilon', epsilon);
    this.centered = boolean(api, 'centered', centered);
  }

  protected updateVariable(value: FloatArray, grad: FloatArray, variable: Variable, step: UpdateStep): void {
    const velocity = this.slot(variable, 'velocity');
    const moment = this.momentum > 0 ? this.slot(variable, 'momentum') : null;
    const average = this.centered ? this.slot(variable, 'averageGradient') : null;
    native.rmspropUpdate(value, grad, velocity, moment, average, step.learningRate, this.rho, this.momentum, this.epsilon,
      this.centered, step.gradScale, step.clipValue, step.decay);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rho: this.rho, momentum: this.momentum, epsilon: this.epsilon, centered: this.centered };
  }
}
