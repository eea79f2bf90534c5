import type { FloatArray } from '../core/dtype.js';
import { typeError } from '../core/errors.js';
import { native } from '../native.js';
import type { Variable } from '../core/variable.js';
import { Optimizer, type OptimizerOptions, type UpdateStep } from './optimizer.js';
import { boolean, finite, nonNegative } from '../core/validate.js';

/** Arguments of {@link Adam}; defaults are Keras 3's. */
export interface AdamOptions extends OptimizerOptions {
  /** Decay of the first-moment average, in [0, 1) (default 0.9). */
  beta1?: number;
  /** Decay of the second-moment average, in [0, 1) (default 0.999). */
  beta2?: number;
  /** Added to `sqrt(v)` (outside the root, not bias-corrected); finite, >= 0 (default 1e-7). */
  epsilon?: number;
  /** Use the running maximum of v (AMSGrad; default false). */
  amsgrad?: boolean;
}

/**
 * Adam with Keras 3's update rule (learning rate 0.001 by default), at step
 * `t = iterations + 1`:
 * ```
 * alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 * m += (g - m) * (1 - beta1);  v += (g^2 - v) * (1 - beta2)
 * amsgrad: vHat = max(vHat, v) replaces v
 * var -= alpha * m / (sqrt(v) + epsilon)
 * ```
 * Slots: 'momentum' (m), 'velocity' (v), 'velocityHat' (AMSGrad only).
 * TensorFlow.js' `tf.train.adam` puts epsilon inside the bias correction
 * (`lr * mHat / (sqrt(vHat) + epsilon)`); both agree exactly when epsilon is 0.
 *
 * @param options see {@link AdamOptions} and {@link OptimizerOptions}
 * @throws {TypeError}  for options of the wrong type or an unknown option (including `lr`)
 * @throws {RangeError} for a beta outside [0, 1), a negative or non-finite epsilon or learning rate,
 *   a clip option <= 0, or more than one clip option
 * @example
 * const opt = new nk.optimizers.Adam({ learningRate: 1e-3, amsgrad: true });
 * opt.applyGradients(nk.zip(grads, net.trainableVariables));
 */
export class Adam extends Optimizer {
  static override readonly className: string = 'Adam';
  /** Keras 3's defaults. */
  static override readonly defaults: { learningRate: number; name: string; weightDecay?: number | null } = {
    learningRate: 0.001,
    name: 'adam',
  };
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly amsgrad: boolean;

  constructor(options: AdamOptions = {}) {
    super(options, ['beta1', 'beta2', 'epsilon', 'amsgrad']);
    const api = this.api;
    const { beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, amsgrad = false } = options;
    this.beta1 = finite(api, 'beta1', beta1, { min: 0, max: 1, maxOpen: true });
    this.beta2 = finite(api, 'beta2', beta2, { min: 0, max: 1, maxOpen: true });
    this.epsilon = nonNegative(api, 'epsilon', epsilon);
    this.amsgrad = boolean(api, 'amsgrad', amsgrad);
  }

  protected updateVariable(value: FloatArray, grad: FloatArray, variable: Variable, step: UpdateStep): void {
    const m = this.slot(variable, 'momentum');
    const v = this.slot(variable, 'velocity');
    const vHat = this.amsgrad ? this.slot(variable, 'velocityHat') : null;
    native.adamUpdate(value, grad, m, v, vHat, step.learningRate, this.beta1, this.beta2, this.epsilon, step.step,
      this.amsgrad, step.gradScale, step.clipValue, step.decay);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, amsgrad: this.amsgrad };
  }
}

/** Arguments of {@link AdamW}: Adam's, with weightDecay required (default 0.004). */
export interface AdamWOptions extends AdamOptions {
  /** Decoupled weight decay, finite and >= 0 (default 0.004; null is rejected, as Keras). */
  weightDecay?: number;
}

/**
 * AdamW (Loshchilov & Hutter): Adam after decoupled weight decay,
 * `var -= var * weightDecay * lr` before each update, with Keras 3's
 * defaults (weightDecay 0.004, learning rate 0.001). Everything else is {@link Adam}.
 *
 * @param options see {@link AdamWOptions}
 * @throws {TypeError}  for options of the wrong type, an unknown option, or a null weightDecay
 * @throws {RangeError} as {@link Adam}, and for a negative weightDecay
 * @example
 * const opt = new nk.optimizers.AdamW({ learningRate: 1e-3, weightDecay: 0.01 });
 * opt.excludeFromWeightDecay({ varNames: ['beta'] });
 */
export class AdamW extends Adam {
  static override readonly className: string = 'AdamW';
  /** Keras 3's defaults. */
  static override readonly defaults = { learningRate: 0.001, name: 'adamw', weightDecay: 0.004 };

  constructor(options: AdamWOptions = {}) {
    super(options);
    if (this.weightDecay === null) throw typeError(this.api, 'weightDecay as a number', null);
  }
}
