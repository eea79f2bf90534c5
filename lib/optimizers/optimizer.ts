import type { FloatArray } from '../dtype.js';
import { describe, rangeError, typeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { Variable } from '../variable.js';

/** One (gradient, variable) pair; a null gradient skips the variable. */
export type GradientAndVariable = readonly [Tensor | null | undefined, Variable];

/** Options every optimizer accepts. */
export interface OptimizerOptions {
  /** Step size; finite and >= 0. */
  learningRate?: number;
  /** Optimizer name (default the class name). */
  name?: string;
}

/**
 * Base class of optimizers, as Keras': {@link applyGradients} checks every
 * pair first and then updates each variable in place with one native call.
 * A rejected call changes no variable and no optimizer state.
 */
export abstract class Optimizer {
  readonly name: string;
  private lr: number;
  /** Number of applyGradients steps taken. */
  iterations = 0;

  protected constructor(options: OptimizerOptions, defaults: { learningRate: number }, api: string) {
    if (typeof options !== 'object' || options === null) throw typeError(api, 'an options object', options);
    const { learningRate = defaults.learningRate, name = this.constructor.name } = options;
    this.lr = checkLearningRate(learningRate, api);
    if (typeof name !== 'string') throw typeError(api, 'name as a string', name);
    this.name = name;
  }

  /** Current learning rate. */
  get learningRate(): number {
    return this.lr;
  }
  set learningRate(value: number) {
    this.lr = checkLearningRate(value, `${this.constructor.name}.learningRate`);
  }

  /**
   * Applies one update per (gradient, variable) pair.
   * @param pairs an iterable of [gradient, variable], e.g. `nk.zip(grads, vars)`
   * @throws {TypeError}  when a pair is not [Tensor | null, Variable]
   * @throws {RangeError} when a gradient's shape or dtype differs from its
   *   variable's, a variable is not trainable or appears twice, or every gradient is null
   */
  applyGradients(pairs: Iterable<GradientAndVariable>): void {
    const api = `${this.constructor.name}.applyGradients`;
    if (pairs === null || typeof pairs !== 'object' || typeof (pairs as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw typeError(api, 'an iterable of [gradient, variable] pairs', pairs);
    }
    const work: [FloatArray, Variable][] = [];
    const seen = new Set<Variable>();
    let index = 0;
    for (const pair of pairs) {
      if (!Array.isArray(pair) || pair.length !== 2) throw typeError(api, `pairs[${index}] as [gradient, variable]`, pair);
      const [grad, variable] = pair;
      if (!(variable instanceof Variable)) throw typeError(api, `pairs[${index}][1] as a Variable`, variable);
      if (seen.has(variable)) throw rangeError(api, 'each variable once', `'${variable.name}' twice`, true);
      seen.add(variable);
      if (grad !== null && grad !== undefined) {
        if (!(grad instanceof Tensor)) throw typeError(api, `pairs[${index}][0] as a Tensor or null`, grad);
        if (!variable.trainable) throw rangeError(api, 'trainable variables', `'${variable.name}' (trainable: false)`, true);
        const same = grad.shape.length === variable.shape.length && grad.shape.every((d, k) => d === variable.shape[k]);
        if (!same || grad.dtype !== variable.dtype) {
          throw rangeError(
            api,
            `a ${variable.dtype} gradient of shape [${variable.shape.join(',')}] for '${variable.name}'`,
            describe(grad),
            true,
            'ERR_NORMKIT_SHAPE_MISMATCH',
          );
        }
        work.push([grad.data, variable]);
      }
      index++;
    }
    if (work.length === 0) {
      throw rangeError(api, 'at least one non-null gradient', index === 0 ? 'no pairs' : 'only null gradients', true);
    }
    for (const [grad, variable] of work) {
      const storage = variable._storage();
      this.updateVariable(storage.data, grad, variable);
      storage.version++;
      if (variable.constraint) variable.assign(variable.constraint.apply(storage));
    }
    this.iterations++;
  }

  /** Updates one variable's buffer in place from its gradient. */
  protected abstract updateVariable(value: FloatArray, grad: FloatArray, variable: Variable): void;

  /** Arguments that recreate this optimizer. */
  getConfig(): Record<string, unknown> {
    return { name: this.name, learningRate: this.lr };
  }
}

function checkLearningRate(value: unknown, api: string): number {
  if (typeof value !== 'number') throw typeError(api, 'learningRate as a number', value);
  if (!(value >= 0 && Number.isFinite(value))) throw rangeError(api, 'learningRate finite and >= 0', value);
  return value;
}

/**
 * Pairs two arrays element by element, as Python's `zip` (used with
 * `applyGradients(nk.zip(grads, vars))`).
 * @throws {RangeError} when the lengths differ (Python would silently truncate)
 * @example
 * opt.applyGradients(nk.zip(grads, net.trainableVariables));
 */
export function zip<A, B>(a: readonly A[], b: readonly B[]): [A, B][] {
  if (!Array.isArray(a)) throw typeError('zip', 'a as an array', a);
  if (!Array.isArray(b)) throw typeError('zip', 'b as an array', b);
  if (a.length !== b.length) throw rangeError('zip', 'arrays of the same length', `${a.length} and ${b.length}`, true);
  return a.map((x, i) => [x, b[i]]);
}
