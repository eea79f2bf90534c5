import type { FloatArray } from '../core/dtype.js';
import { allocate, sharesMemory } from '../core/dtype.js';
import { nonNegative, options as checkOptions, positive } from '../core/validate.js';
import { describe, rangeError, typeError } from '../core/errors.js';
import { native } from '../native.js';
import { deserialize as deserializeSchedule, LearningRateSchedule, serialize as serializeSchedule } from './schedules.js';
import { GradientTape } from '../autodiff/tape.js';
import { Tensor } from '../core/tensor.js';
import { Variable } from '../core/variable.js';

/** One (gradient, variable) pair; a null gradient skips the variable. */
export type GradientAndVariable = readonly [Tensor | null | undefined, Variable];

/** Options every optimizer accepts (Keras 3's base optimizer arguments). */
export interface OptimizerOptions {
  /** Step size: a finite number >= 0 or a schedule evaluated at every step (default per optimizer). */
  learningRate?: number | LearningRateSchedule;
  /** Optimizer name (default as Keras: 'SGD', 'adam', 'adamw', 'rmsprop', 'adagrad'). */
  name?: string;
  /**
   * Decoupled weight decay: before each update, `var -= var * weightDecay * learningRate`
   * (finite, >= 0; default null: none; AdamW: 0.004).
   */
  weightDecay?: number | null;
  /** Clip each gradient to this L2 norm: `g * clipnorm / max(||g||, clipnorm)` (finite, > 0). */
  clipnorm?: number | null;
  /** Clip each gradient element to [-clipvalue, clipvalue] (finite, > 0). */
  clipvalue?: number | null;
  /** Scale all gradients together so that their joint L2 norm is at most this (finite, > 0). */
  globalClipnorm?: number | null;
}

/**
 * What {@link Optimizer.updateVariable} receives besides the buffers: the
 * values of this step, resolved by the base class.
 */
export interface UpdateStep {
  /** Learning rate of this step (the schedule's value at `step - 1`). */
  readonly learningRate: number;
  /** 1 for the first update (Keras' `iterations + 1`). */
  readonly step: number;
  /** Gradient multiplier from clipnorm / globalClipnorm (1: none; NaN when the global norm is not finite). */
  readonly gradScale: number;
  /** Clamp bound of clipvalue (0: none). */
  readonly clipValue: number;
  /** `weightDecay * learningRate` for this variable (0: none or excluded). */
  readonly decay: number;
}

/** What a class's static `defaults` holds. */
export interface OptimizerDefaults {
  learningRate: number;
  name: string;
  weightDecay?: number | null;
}

/** What a concrete optimizer class provides to the base constructor. */
interface OptimizerClass {
  readonly className: string;
  readonly defaults: OptimizerDefaults;
}

const commonKeys = ['learningRate', 'name', 'weightDecay', 'clipnorm', 'clipvalue', 'globalClipnorm'] as const;

/** A learning rate: a schedule, or a number as {@link nonNegative} wants it (the TypeError names both). */
function checkLearningRate(api: string, param: string, value: unknown): number | LearningRateSchedule {
  if (value instanceof LearningRateSchedule) return value;
  if (typeof value !== 'number') throw typeError(api, `${param} as a number or a LearningRateSchedule`, value);
  return nonNegative(api, param, value);
}

function optionalPositive(api: string, param: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  return positive(api, param, value);
}

/**
 * Base class of optimizers, as Keras 3's: {@link applyGradients} checks
 * every pair first, resolves the step's learning rate (a number or a
 * schedule at `iterations`), clips the gradients (clipnorm, clipvalue or
 * globalClipnorm) and applies decoupled weight decay, then updates each
 * variable in place with one native call (two with a norm clip: the norm is
 * a native reduction too), and finally applies each variable's constraint.
 *
 * A rejected call changes no variable, no slot and no `iterations`.
 *
 * Optimizer state ("slots": momentum, velocity, accumulators) lives in typed
 * arrays owned by the optimizer, one per variable and slot, created at a
 * variable's first update.
 *
 * Subclasses set static `className` and `defaults`, call `super(options, keys)`
 * with their own option names, and implement {@link updateVariable}, which
 * must apply the step's `gradScale`, `clipValue` and `decay` itself (the
 * built-in optimizers pass them to their native kernel).
 *
 * @throws {TypeError}  (constructor) for options of the wrong type or an unknown option
 * @throws {RangeError} (constructor) for a bad learning rate, weightDecay or clip option, or two clip options
 * @example
 * class SignSGD extends nk.optimizers.Optimizer {
 *   static readonly className = 'SignSGD';
 *   static readonly defaults = { learningRate: 0.01, name: 'sign_sgd' };
 *   constructor(options: nk.optimizers.OptimizerOptions = {}) {
 *     super(options, []);
 *   }
 *   protected updateVariable(value: nk.FloatArray, grad: nk.FloatArray, _v: nk.Variable, step: nk.optimizers.UpdateStep) {
 *     for (let i = 0; i < value.length; i++) {
 *       value[i] = value[i] - value[i] * step.decay - step.learningRate * Math.sign(grad[i] * step.gradScale);
 *     }
 *   }
 * }
 */
export abstract class Optimizer {
  /** Keras' class name (used in messages and by serialization). */
  static readonly className: string = 'Optimizer';
  /** Default learning rate, name (and weight decay) of the class; subclasses set their own. */
  static readonly defaults: OptimizerDefaults = { learningRate: 0.001, name: 'optimizer' };

  readonly name: string;
  /** Decoupled weight decay factor, or null. */
  readonly weightDecay: number | null;
  readonly clipnorm: number | null;
  readonly clipvalue: number | null;
  readonly globalClipnorm: number | null;
  /** The class name, for messages. */
  protected readonly api: string;
  private lr: number | LearningRateSchedule;
  private iterationCount = 0;
  private readonly slots = new Map<string, Map<Variable, FloatArray>>();
  private excludedVariables = new Set<Variable>();
  private excludedNames: RegExp | null = null;

  /**
   * @param options the caller's options (checked here: types, ranges, unknown names)
   * @param ownKeys option names the subclass accepts beyond the common ones
   */
  protected constructor(options: unknown, ownKeys: readonly string[]) {
    const cls = new.target as unknown as OptimizerClass;
    const api = cls.className;
    this.api = api;
    const allowed: readonly string[] = [...commonKeys, ...ownKeys];
    if (typeof options === 'object' && options !== null && Object.hasOwn(options, 'lr') && !allowed.includes('lr')) {
      throw typeError(api, 'learningRate (the deprecated lr alias is accepted by SGD only)', 'lr', true);
    }
    const o = checkOptions(api, options, allowed) as OptimizerOptions;
    this.lr = checkLearningRate(api, 'learningRate', o.learningRate ?? cls.defaults.learningRate);
    const name = o.name ?? cls.defaults.name;
    if (typeof name !== 'string') throw typeError(api, 'name as a string', name);
    this.name = name;
    const wd = o.weightDecay === undefined ? (cls.defaults.weightDecay ?? null) : o.weightDecay;
    this.weightDecay = wd === null ? null : nonNegative(api, 'weightDecay', wd);
    this.clipnorm = optionalPositive(api, 'clipnorm', o.clipnorm);
    this.clipvalue = optionalPositive(api, 'clipvalue', o.clipvalue);
    this.globalClipnorm = optionalPositive(api, 'globalClipnorm', o.globalClipnorm);
    const clips = [this.clipnorm, this.clipvalue, this.globalClipnorm].filter((c) => c !== null).length;
    if (clips > 1) {
      throw rangeError(
        api,
        'only one of clipnorm, clipvalue and globalClipnorm',
        `clipnorm=${this.clipnorm}, clipvalue=${this.clipvalue}, globalClipnorm=${this.globalClipnorm}`,
        true,
      );
    }
  }

  /** The learning rate of the next step (a schedule is evaluated at {@link iterations}). */
  get learningRate(): number {
    return typeof this.lr === 'number' ? this.lr : this.lr.call(this.iterationCount);
  }
  /**
   * Replaces the learning rate or schedule.
   * @throws {TypeError | RangeError} for a value that is neither a finite number >= 0 nor a schedule
   */
  set learningRate(value: number | LearningRateSchedule) {
    this.lr = checkLearningRate(`${this.api}.learningRate`, 'learningRate', value);
  }

  /** The schedule passed as learningRate, or null when it is a number. */
  get learningRateSchedule(): LearningRateSchedule | null {
    return typeof this.lr === 'number' ? null : this.lr;
  }

  /** Number of applyGradients steps taken (settable, e.g. to resume a schedule). */
  get iterations(): number {
    return this.iterationCount;
  }
  set iterations(value: number) {
    if (typeof value !== 'number') throw typeError(`${this.api}.iterations`, 'a number', value);
    if (!Number.isSafeInteger(value) || value < 0) throw rangeError(`${this.api}.iterations`, 'an integer >= 0', value);
    this.iterationCount = value;
  }

  /**
   * Exempts variables from weight decay, as Keras'
   * `exclude_from_weight_decay`: the given variables, and every variable whose
   * name matches one of `varNames` (regular-expression fragments searched
   * in the name, e.g. `['gamma', 'beta']`). Replaces any earlier exclusion.
   * @throws {TypeError} when varList is not an array of Variables or varNames not an array of strings
   * @example
   * const opt = new nk.optimizers.AdamW({ weightDecay: 0.01 });
   * opt.excludeFromWeightDecay({ varNames: ['beta'] });
   */
  excludeFromWeightDecay(options: { varList?: readonly Variable[]; varNames?: readonly string[] } = {}): void {
    const api = `${this.api}.excludeFromWeightDecay`;
    if (typeof options !== 'object' || options === null) throw typeError(api, 'an options object', options);
    const { varList = [], varNames = [] } = options;
    if (!Array.isArray(varList) || !varList.every((v) => v instanceof Variable)) throw typeError(api, 'varList as an array of Variables', varList);
    if (!Array.isArray(varNames) || !varNames.every((n) => typeof n === 'string')) throw typeError(api, 'varNames as an array of strings', varNames);
    this.excludedVariables = new Set(varList);
    this.excludedNames = varNames.length > 0 ? new RegExp(varNames.join('|')) : null;
  }

  /**
   * Applies one update per (gradient, variable) pair.
   * @param pairs an iterable of [gradient, variable], e.g. `nk.zip(grads, vars)`
   * @throws {TypeError}  when a pair is not [Tensor | null, Variable]
   * @throws {RangeError} when a gradient's shape or dtype differs from its
   *   variable's, a variable is not trainable or appears twice, every gradient
   *   is null, or a learning-rate schedule returns a negative or non-finite rate
   * @example
   * const grads = tape.gradient(loss, net.trainableVariables);
   * opt.applyGradients(nk.zip(grads, net.trainableVariables));
   */
  applyGradients(pairs: Iterable<GradientAndVariable>): void {
    const api = `${this.api}.applyGradients`;
    const work = checkPairs(api, pairs);
    const learningRate = this.stepLearningRate(api);
    const scales = this.gradientScales(work);
    const step = this.iterationCount + 1;
    const clipValue = this.clipvalue ?? 0;
    // A gradient that shares memory with any variable of this call (e.g.
    // `[[g, b], [b.read(), a]]`) must be read as it was before the step, as
    // TensorFlow does: copy those first (rare).
    const grads = work.map(([gradData]) =>
      work.some(([, v]) => sharesMemory(gradData, v._storage().data)) ? gradData.slice() : gradData,
    );
    for (let k = 0; k < work.length; k++) {
      const variable = work[k][1];
      const storage = variable._storage();
      const grad = grads[k];
      const decay = this.weightDecay !== null && this.usesWeightDecay(variable) ? this.weightDecay * learningRate : 0;
      this.updateVariable(storage.data, grad, variable, { learningRate, step, gradScale: scales === null ? 1 : scales[k], clipValue, decay });
      storage.version++;
      if (variable.constraint) variable.assign(variable.constraint.apply(storage));
    }
    this.iterationCount++;
  }

  /**
   * Records `loss` on a new GradientTape, applies the gradients of its result
   * with respect to `varList` and returns the loss. Variables the loss does
   * not read get no update (as a null gradient).
   * @param loss a function computing the loss from the variables
   * @param varList the trainable variables to update
   * @throws {TypeError}  when loss is not a function or does not return a Tensor, or varList is not an array of Variables
   * @throws {RangeError} when varList is empty or holds a non-trainable variable, or no variable gets a gradient
   * @example
   * const w = new nk.Variable(nk.tensor([1, 2]), { name: 'w:0' });
   * const opt = new nk.optimizers.Adam({ learningRate: 0.1 });
   * for (let i = 0; i < 100; i++) opt.minimize(() => nk.sum(nk.square(w)), [w]);
   */
  minimize(loss: () => Tensor, varList: readonly Variable[]): Tensor {
    const api = `${this.api}.minimize`;
    if (typeof loss !== 'function') throw typeError(api, 'loss as a function', loss);
    if (!Array.isArray(varList) || !varList.every((v) => v instanceof Variable)) throw typeError(api, 'varList as an array of Variables', varList);
    if (varList.length === 0) throw rangeError(api, 'at least one variable in varList', 'an empty array', true);
    const frozen = varList.find((v) => !v.trainable);
    if (frozen) throw rangeError(api, 'trainable variables', `'${frozen.name}' (trainable: false)`, true);
    const tape = new GradientTape();
    tape.watch([...varList]);
    const value = tape.record(loss);
    if (!(value instanceof Tensor)) throw typeError(api, 'loss() to return a Tensor', value);
    const grads = tape.gradient(value, [...varList]);
    this.applyGradients(varList.map((v, i) => [grads[i], v] as const));
    return value;
  }

  /**
   * A copy of one slot of a variable (e.g. Adam's 'momentum'), or null before
   * the variable's first update or when this optimizer has no such slot.
   * @example
   * opt.getSlot(net.trainableVariables[0], 'velocity');
   */
  getSlot(variable: Variable, slotName: string): Tensor | null {
    const data = this.slots.get(slotName)?.get(variable);
    return data === undefined ? null : new Tensor(data.slice(), variable.shape);
  }

  /** Names of the slots created so far. */
  slotNames(): string[] {
    return [...this.slots.keys()];
  }

  /**
   * Updates one variable's buffer in place from its gradient: one native call.
   * Reads its slots with {@link slot}.
   */
  protected abstract updateVariable(value: FloatArray, grad: FloatArray, variable: Variable, step: UpdateStep): void;

  /** The `name` slot of `variable`, created filled with `initialValue` on first use. */
  protected slot(variable: Variable, name: string, initialValue = 0): FloatArray {
    let bySlot = this.slots.get(name);
    if (bySlot === undefined) {
      bySlot = new Map();
      this.slots.set(name, bySlot);
    }
    let data = bySlot.get(variable);
    if (data === undefined) {
      data = allocate(variable.dtype, variable.size);
      if (initialValue !== 0) data.fill(initialValue);
      bySlot.set(variable, data);
    }
    return data;
  }

  /** Arguments that recreate this optimizer (a schedule appears as `{ className, config }`). */
  getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      learningRate: typeof this.lr === 'number' ? this.lr : serializeSchedule(this.lr),
      weightDecay: this.weightDecay,
      clipnorm: this.clipnorm,
      clipvalue: this.clipvalue,
      globalClipnorm: this.globalClipnorm,
    };
  }

  /**
   * Recreates an optimizer from {@link getConfig}'s output (no slots, iterations 0).
   * @throws {TypeError | RangeError} as the constructor does
   * @example
   * const copy = nk.optimizers.Adam.fromConfig(opt.getConfig());
   */
  static fromConfig<T extends Optimizer>(this: new (options: never) => T, config: Record<string, unknown>): T {
    if (typeof config !== 'object' || config === null) throw typeError(`${(this as unknown as OptimizerClass).className}.fromConfig`, 'a config object', config);
    const options: Record<string, unknown> = { ...config };
    const lr = options.learningRate;
    if (typeof lr === 'object' && lr !== null && !(lr instanceof LearningRateSchedule)) {
      options.learningRate = deserializeSchedule(lr as never);
    }
    return new this(options as never);
  }

  private stepLearningRate(api: string): number {
    if (typeof this.lr === 'number') return this.lr;
    const value = this.lr.call(this.iterationCount);
    if (typeof value !== 'number' || !(value >= 0 && Number.isFinite(value))) {
      throw rangeError(api, `the learning-rate schedule to return a finite number >= 0 at step ${this.iterationCount}`, value);
    }
    return value;
  }

  /** Per-pair gradient multipliers for clipnorm / globalClipnorm (Keras' formulas), or null. */
  private gradientScales(work: readonly [FloatArray, Variable][]): Float64Array | null {
    if (this.clipnorm !== null) {
      const c = this.clipnorm;
      const scales = new Float64Array(work.length);
      work.forEach(([g], k) => {
        // g * c / max(||g||, c): NaN stays NaN, an infinite norm gives 0.
        const norm = Math.sqrt(native.sumOfSquares(g));
        scales[k] = norm > c ? c / norm : norm === norm ? 1 : NaN;
      });
      return scales;
    }
    if (this.globalClipnorm !== null) {
      const c = this.globalClipnorm;
      let sum = 0;
      for (const [g] of work) sum += native.sumOfSquares(g);
      const norm = Math.sqrt(sum);
      // Keras: c * min(1/norm, 1/c) + (norm - norm): NaN for a non-finite norm.
      const scale = Number.isFinite(norm) ? (norm > c ? c / norm : 1) : NaN;
      return new Float64Array(work.length).fill(scale);
    }
    return null;
  }

  private usesWeightDecay(variable: Variable): boolean {
    if (this.excludedVariables.has(variable)) return false;
    return this.excludedNames === null || !this.excludedNames.test(variable.name);
  }
}

function checkPairs(api: string, pairs: unknown): [FloatArray, Variable][] {
  if (pairs === null || typeof pairs !== 'object' || typeof (pairs as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw typeError(api, 'an iterable of [gradient, variable] pairs', pairs);
  }
  const work: [FloatArray, Variable][] = [];
  const seen = new Set<Variable>();
  let index = 0;
  for (const pair of pairs as Iterable<unknown>) {
    if (!Array.isArray(pair) || pair.length !== 2) throw typeError(api, `pairs[${index}] as [gradient, variable]`, pair);
    const [grad, variable] = pair as [unknown, unknown];
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
      // A transferred (detached) buffer reads as length 0.
      if (grad.data.length !== variable.size) {
        throw rangeError(api, `gradient data of length ${variable.size} for '${variable.name}'`, `length ${grad.data.length} (detached buffer?)`, true);
      }
      work.push([grad.data, variable]);
    }
    index++;
  }
  if (work.length === 0) {
    throw rangeError(api, 'at least one non-null gradient', index === 0 ? 'no pairs' : 'only null gradients', true);
  }
  return work;
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
