import type { FloatArray } from '../core/dtype.js';
import { native } from '../native.js';
import type { Variable } from '../core/variable.js';
import { Optimizer, type OptimizerOptions, type UpdateStep } from './optimizer.js';
import { nonNegative } from '../core/validate.js';

/** Arguments of {@link Adagrad}; defaults are Keras 3's. */
export interface AdagradOptions extends OptimizerOptions {
  /** Starting value of the accumulators; finite, >= 0 (default 0.1). */
  initialAccumulatorValue?: number;
  /** Added inside the square root; finite, >= 0 (default 1e-7). */
  epsilon?: number;
}

/**
 * Adagrad with Keras 3's update rule (learning rate 0.001 by default):
 * `accumulator += g^2; var -= lr * g / sqrt(accumulator + epsilon)`, the
 * accumulator (slot 'accumulator') starting at `initialAccumulatorValue`.
 *
 * @param options see {@link AdagradOptions} and {@link OptimizerOptions}
 * @throws {TypeError}  for options of the wrong type or an unknown option (including `lr`)
 * @throws {RangeError} for a negative or non-finite initialAccumulatorValue, epsilon or learning rate,
 *   a clip option <= 0, or more than one clip option
 * @example
 * const opt = new nk.optimizers.Adagrad({ learningRate: 0.1, initialAccumulatorValue: 0.1 });
 * opt.applyGradients(nk.zip(grads, net.trainableVariables));
 */
export class Adagrad extends Optimizer {
  static override readonly className: string = 'Adagrad';
  /** Keras 3's defaults. */
  static override readonly defaults = { learningRate: 0.001, name: 'adagrad' };
  readonly initialAccumulatorValue: number;
  readonly epsilon: number;

  constructor(options: AdagradOptions = {}) {
    super(options, ['initialAccumulatorValue', 'epsilon']);
    const api = this.api;
    const { initialAccumulatorValue = 0.1, epsilon = 1e-7 } = options;
    this.initialAccumulatorValue = nonNegative(api, 'initialAccumulatorValue', initialAccumulatorValue);
    this.epsilon = nonNegative(api, 'epsilon', epsilon);
  }

  protected updateVariable(value: FloatArray, grad: FloatArray, variable: Variable, step: UpdateStep): void {
    const accumulator = this.slot(variable, 'accumulator', this.initialAccumulatorValue);
    native.adagradUpdate(value, grad, accumulator, step.learningRate, this.epsilon, step.gradScale, step.clipValue, step.decay);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), initialAccumulatorValue: this.initialAccumulatorValue, epsilon: this.epsilon };
  }
}
