import type { FloatArray } from '../core/dtype.js';
import { rangeError, typeError } from '../core/errors.js';
import { native } from '../native.js';
import type { Variable } from '../core/variable.js';
import { Optimizer, type OptimizerOptions, type UpdateStep } from './optimizer.js';
import { boolean, finite } from '../core/validate.js';

/** Arguments of {@link SGD}; defaults are Keras'. */
export interface SGDOptions extends OptimizerOptions {
  /** Momentum in [0, 1] (default 0: plain gradient descent). */
  momentum?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
  /**
   * @deprecated Keras 1 name of `learningRate`, kept on SGD only because the
   * TensorFlow 2 tutorial uses it; accepted with a DeprecationWarning (once per process).
   */
  lr?: number;
}

let warnedLr = false;

/**
 * Stochastic gradient descent with optional (Nesterov) momentum, with Keras'
 * update rule (learning rate 0.01 by default):
 * `v = momentum * v - lr * g; var += nesterov ? momentum * v - lr * g : v`
 * (`var -= lr * g` without momentum). One native call per variable; the
 * velocity slot is named 'momentum' (as Keras') and exists only when momentum > 0.
 *
 * @param options see {@link SGDOptions} and {@link OptimizerOptions}
 * @throws {TypeError}  for options of the wrong type or an unknown option
 * @throws {RangeError} for a learning rate that is NaN, infinite or negative, momentum outside [0, 1],
 *   both `lr` and `learningRate`, a clip option <= 0, or more than one clip option
 * @example
 * const opt = new nk.optimizers.SGD({ learningRate: 1e-2, momentum: 0.9, nesterov: true });
 * opt.applyGradients(nk.zip(grads, net.trainableVariables));
 */
export class SGD extends Optimizer {
  static override readonly className: string = 'SGD';
  /** Keras 3's defaults. */
  static override readonly defaults = { learningRate: 0.01, name: 'SGD' };
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(options: SGDOptions = {}) {
    super(resolveLr(options), ['momentum', 'nesterov']);
    const api = this.api;
    const { momentum = 0, nesterov = false } = options;
    this.momentum = finite(api, 'momentum', momentum, { min: 0, max: 1 });
    this.nesterov = boolean(api, 'nesterov', nesterov);
  }

  protected updateVariable(value: FloatArray, grad: FloatArray, variable: Variable, step: UpdateStep): void {
    const velocity = this.momentum !== 0 ? this.slot(variable, 'momentum') : null;
    native.sgdUpdate(value, grad, velocity, step.learningRate, this.momentum, this.nesterov, step.gradScale, step.clipValue, step.decay);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), momentum: this.momentum, nesterov: this.nesterov };
  }
}

/** Maps the deprecated `lr` onto `learningRate` (with the warning). */
function resolveLr(options: SGDOptions): unknown {
  const api = 'SGD';
  if (typeof options !== 'object' || options === null) return options;
  if (options.lr === undefined) {
    if (!('lr' in options)) return options;
    const { lr: _unused, ...rest } = options;
    return rest;
  }
  if (options.learningRate !== undefined) throw rangeError(api, 'either learningRate or the deprecated lr', 'both', true);
  if (typeof options.lr !== 'number') throw typeError(api, 'lr as a number', options.lr);
  if (!warnedLr) {
    warnedLr = true;
    process.emitWarning('SGD: the `lr` option is deprecated, use `learningRate`', {
      type: 'DeprecationWarning',
      code: 'NORMKIT_DEP_LR',
    });
  }
  const { lr, ...rest } = options;
  return { ...rest, learningRate: lr };
}
