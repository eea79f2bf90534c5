/**
 * Learning-rate schedules, as Keras 3's `keras.optimizers.schedules`: pass
 * one as an optimizer's `learningRate` and the optimizer evaluates it at
 * every step with `step = optimizer.iterations` (0 for the first update),
 * exactly as Keras does. Formulas are Keras 3's
 * (`keras/src/optimizers/schedules/learning_rate_schedule.py`), computed in
 * float64.
 */
import { rangeError, typeError } from '../core/errors.js';
import { boolean, finite, nonNegative, options as checkOptions, positive } from '../core/validate.js';

/** `{ className, config }`: how a schedule appears in an optimizer's config. */
export interface SerializedSchedule {
  className: string;
  config: Record<string, unknown>;
}

/**
 * Base class of learning-rate schedules. Subclass it (implement {@link call}
 * and {@link getConfig}, set a static `className`) to write your own; pass the
 * class to {@link deserialize} through `customObjects` to load it from a config.
 *
 * @example
 * class InverseSqrt extends nk.optimizers.schedules.LearningRateSchedule {
 *   static readonly className = 'InverseSqrt';
 *   call(step: number) { return 0.1 / Math.sqrt(step + 1); }
 *   getConfig() { return {}; }
 * }
 * const opt = new nk.optimizers.SGD({ learningRate: new InverseSqrt() });
 */
export abstract class LearningRateSchedule {
  /** Name used by {@link serialize}; subclasses set their own. */
  static readonly className: string = 'LearningRateSchedule';

  /** The learning rate at optimizer step `step` (0, 1, 2, ...). */
  abstract call(step: number): number;

  /** Arguments that recreate this schedule. */
  abstract getConfig(): Record<string, unknown>;

  /**
   * Recreates a schedule from {@link getConfig}'s output.
   * @throws {TypeError | RangeError} as the constructor does for bad arguments
   */
  static fromConfig<T>(this: new (config: never) => T, config: Record<string, unknown>): T {
    return new this(config as never);
  }
}

function nameOf(api: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw typeError(api, 'name as a string', value);
  return value;
}


/** Arguments of the step decays ({@link ExponentialDecay}, {@link InverseTimeDecay}). */
export interface StepDecayOptions {
  /** Learning rate at step 0; finite, >= 0. */
  initialLearningRate: number;
  /** Steps per unit of the step fraction `step / decaySteps`; finite, > 0. */
  decaySteps: number;
  /** How fast the rate decays per `decaySteps`; finite, >= 0. */
  decayRate: number;
  /** Use `floor(step / decaySteps)`: decay at whole multiples of `decaySteps` only (default false). */
  staircase?: boolean;
  name?: string;
}

/**
 * What ExponentialDecay and InverseTimeDecay share: the same arguments, the
 * same step fraction `p = step / decaySteps` (floored when `staircase`) and
 * the same config; they differ only in the decay applied to `p`.
 */
abstract class StepDecay extends LearningRateSchedule {
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly decayRate: number;
  readonly staircase: boolean;
  readonly name: string;
  private readonly api: string;

  protected constructor(api: string, options: StepDecayOptions) {
    super();
    const o = checkOptions(api, options, ['initialLearningRate', 'decaySteps', 'decayRate', 'staircase', 'name']);
    this.initialLearningRate = nonNegative(api, 'initialLearningRate', o.initialLearningRate);
    this.decaySteps = positive(api, 'decaySteps', o.decaySteps);
    this.decayRate = nonNegative(api, 'decayRate', o.decayRate);
    this.staircase = boolean(api, 'staircase', o.staircase ?? false);
    this.name = nameOf(api, o.name, api);
    this.api = api;
  }

  /** The rate for the step fraction `p`. */
  protected abstract decay(p: number): number;

  call(step: number): number {
    let p = nonNegative(`${this.api}.call`, 'step', step) / this.decaySteps;
    if (this.staircase) p = Math.floor(p);
    return this.decay(p);
  }

  getConfig(): Record<string, unknown> {
    return {
      initialLearningRate: this.initialLearningRate,
      decaySteps: this.decaySteps,
      decayRate: this.decayRate,
      staircase: this.staircase,
      name: this.name,
    };
  }
}

/** Arguments of {@link ExponentialDecay}: those of every step decay. */
export type ExponentialDecayOptions = StepDecayOptions;

/**
 * `initialLearningRate * decayRate ^ (step / decaySteps)`, with
 * `floor(step / decaySteps)` when `staircase` (Keras' ExponentialDecay).
 *
 * @param options see {@link ExponentialDecayOptions}
 * @throws {TypeError} for an option of the wrong type or an unknown option
 * @throws {RangeError} for a negative or non-finite rate, or `decaySteps <= 0`
 * @example
 * const lr = new nk.optimizers.schedules.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 100, decayRate: 0.96, staircase: true });
 * lr.call(250); // 0.1 * 0.96^2
 */
export class ExponentialDecay extends StepDecay {
  static override readonly className: string = 'ExponentialDecay';

  constructor(options: ExponentialDecayOptions) {
    super('ExponentialDecay', options);
  }

  protected decay(p: number): number {
    return this.initialLearningRate * Math.pow(this.decayRate, p);
  }
}

/** Arguments of {@link InverseTimeDecay}: those of every step decay. */
export type InverseTimeDecayOptions = StepDecayOptions;

/**
 * `initialLearningRate / (1 + decayRate * step / decaySteps)`, with
 * `floor(step / decaySteps)` when `staircase` (Keras' InverseTimeDecay).
 *
 * @param options see {@link InverseTimeDecayOptions}
 * @throws {TypeError} for an option of the wrong type or an unknown option
 * @throws {RangeError} for a negative or non-finite rate, or `decaySteps <= 0`
 * @example
 * const lr = new nk.optimizers.schedules.InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 });
 * lr.call(2); // 0.1 / 2
 */
export class InverseTimeDecay extends StepDecay {
  static override readonly className: string = 'InverseTimeDecay';

  constructor(options: InverseTimeDecayOptions) {
    super('InverseTimeDecay', options);
  }

  protected decay(p: number): number {
    return this.initialLearningRate / (1 + this.decayRate * p);
  }
}

/** Arguments of {@link PolynomialDecay}. */
export interface PolynomialDecayOptions {
  /** Learning rate at step 0; finite, >= 0. */
  initialLearningRate: number;
  /** Steps to reach `endLearningRate`; finite, > 0. */
  decaySteps: number;
  /** Finite, >= 0 (default 0.0001, as Keras). */
  endLearningRate?: number;
  /** Finite, >= 0 (default 1: linear). */
  power?: number;
  /** Restart at the next multiple of `decaySteps` instead of holding (default false). */
  cycle?: boolean;
  name?: string;
}

/**
 * `(initial - end) * (1 - step / decaySteps) ^ power + end`, with `step`
 * capped at `decaySteps`, or with `decaySteps` stretched to the next multiple
 * above `step` when `cycle` (Keras' PolynomialDecay).
 *
 * @param options see {@link PolynomialDecayOptions}
 * @throws {TypeError} for an option of the wrong type or an unknown option
 * @throws {RangeError} for a negative or non-finite value, or `decaySteps <= 0`
 * @example
 * const lr = new nk.optimizers.schedules.PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 100, endLearningRate: 0.01 });
 * lr.call(50); // 0.055
 */
export class PolynomialDecay extends LearningRateSchedule {
  static override readonly className: string = 'PolynomialDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly endLearningRate: number;
  readonly power: number;
  readonly cycle: boolean;
  readonly name: string;

  constructor(options: PolynomialDecayOptions) {
    super();
    const api = 'PolynomialDecay';
    const o = checkOptions(api, options, ['initialLearningRate', 'decaySteps', 'endLearningRate', 'power', 'cycle', 'name']);
    this.initialLearningRate = nonNegative(api, 'initialLearningRate', o.initialLearningRate);
    this.decaySteps = positive(api, 'decaySteps', o.decaySteps);
    this.endLearningRate = nonNegative(api, 'endLearningRate', o.endLearningRate ?? 0.0001);
    this.power = nonNegative(api, 'power', o.power ?? 1);
    this.cycle = boolean(api, 'cycle', o.cycle ?? false);
    this.name = nameOf(api, o.name, 'PolynomialDecay');
  }

  call(step: number): number {
    let s = nonNegative('PolynomialDecay.call', 'step', step);
    let steps = this.decaySteps;
    if (this.cycle) steps *= s === 0 ? 1 : Math.ceil(s / this.decaySteps);
    else s = Math.min(s, steps);
    const p = s / steps;
    return (this.initialLearningRate - this.endLearningRate) * Math.pow(1 - p, this.power) + this.endLearningRate;
  }

  getConfig(): Record<string, unknown> {
    return {
      initialLearningRate: this.initialLearningRate,
      decaySteps: this.decaySteps,
      endLearningRate: this.endLearningRate,
      power: this.power,
      cycle: this.cycle,
      name: this.name,
    };
  }
}

/** Arguments of {@link CosineDecay}. */
export interface CosineDecayOptions {
  /** Learning rate at step 0 (the start of the warmup, if any); finite, >= 0. */
  initialLearningRate: number;
  /** Length of the cosine phase; finite, > 0. */
  decaySteps: number;
  /** Final rate as a fraction of the decay's starting rate; in [0, 1] (default 0). */
  alpha?: number;
  /** Rate reached at the end of a linear warmup; null (default) for no warmup. */
  warmupTarget?: number | null;
  /** Length of the warmup; finite, >= 0 (default 0). */
  warmupSteps?: number;
  name?: string;
}

/**
 * Cosine decay with an optional linear warmup (Keras 3's CosineDecay):
 * without `warmupTarget`, `lr(step) = initial * ((1 - alpha) * c + alpha)` with
 * `c = 0.5 * (1 + cos(pi * min(step, decaySteps) / decaySteps))`; with it, the
 * rate rises linearly from `initialLearningRate` to `warmupTarget` over
 * `warmupSteps`, then decays from `warmupTarget` the same way.
 *
 * @param options see {@link CosineDecayOptions}
 * @throws {TypeError} for an option of the wrong type or an unknown option
 * @throws {RangeError} for a negative or non-finite value, `decaySteps <= 0` or alpha outside [0, 1]
 * @example
 * const lr = new nk.optimizers.schedules.CosineDecay({ initialLearningRate: 0, decaySteps: 1000, warmupTarget: 0.1, warmupSteps: 100 });
 * lr.call(50);   // 0.05 (warming up)
 * lr.call(600);  // 0.05 (half-way down the cosine)
 */
export class CosineDecay extends LearningRateSchedule {
  static override readonly className: string = 'CosineDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly alpha: number;
  readonly warmupTarget: number | null;
  readonly warmupSteps: number;
  readonly name: string;

  constructor(options: CosineDecayOptions) {
    super();
    const api = 'CosineDecay';
    const o = checkOptions(api, options, ['initialLearningRate', 'decaySteps', 'alpha', 'warmupTarget', 'warmupSteps', 'name']);
    this.initialLearningRate = nonNegative(api, 'initialLearningRate', o.initialLearningRate);
    this.decaySteps = positive(api, 'decaySteps', o.decaySteps);
    this.alpha = finite(api, 'alpha', o.alpha ?? 0, { min: 0, max: 1 });
    const target = o.warmupTarget ?? null;
    this.warmupTarget = target === null ? null : nonNegative(api, 'warmupTarget', target);
    this.warmupSteps = nonNegative(api, 'warmupSteps', o.warmupSteps ?? 0);
    this.name = nameOf(api, o.name, 'CosineDecay');
  }

  private decay(step: number, from: number): number {
    const cosine = 0.5 * (1 + Math.cos(Math.PI * (step / this.decaySteps)));
    return from * ((1 - this.alpha) * cosine + this.alpha);
  }

  call(step: number): number {
    const s = nonNegative('CosineDecay.call', 'step', step);
    if (this.warmupTarget === null) return this.decay(Math.min(s, this.decaySteps), this.initialLearningRate);
    const capped = Math.min(s, this.decaySteps + this.warmupSteps);
    if (capped < this.warmupSteps) {
      return (this.warmupTarget - this.initialLearningRate) * (capped / this.warmupSteps) + this.initialLearningRate;
    }
    return this.decay(capped - this.warmupSteps, this.warmupTarget);
  }

  getConfig(): Record<string, unknown> {
    return {
      initialLearningRate: this.initialLearningRate,
      decaySteps: this.decaySteps,
      alpha: this.alpha,
      warmupTarget: this.warmupTarget,
      warmupSteps: this.warmupSteps,
      name: this.name,
    };
  }
}

/** Arguments of {@link PiecewiseConstantDecay}. */
export interface PiecewiseConstantDecayOptions {
  /** Strictly increasing finite step numbers. */
  boundaries: readonly number[];
  /** One more value than boundaries; each finite, >= 0. */
  values: readonly number[];
  name?: string;
}

/**
 * `values[0]` while `step <= boundaries[0]`, `values[i]` while
 * `boundaries[i-1] < step <= boundaries[i]`, and the last value after the
 * last boundary (Keras' PiecewiseConstantDecay).
 *
 * @param options see {@link PiecewiseConstantDecayOptions}
 * @throws {TypeError} when boundaries or values are not arrays of numbers
 * @throws {RangeError} when the lengths do not match, boundaries do not increase or a value is negative
 * @example
 * const lr = new nk.optimizers.schedules.PiecewiseConstantDecay({ boundaries: [100, 110], values: [1, 0.5, 0.1] });
 * lr.call(100); // 1
 * lr.call(101); // 0.5
 */
export class PiecewiseConstantDecay extends LearningRateSchedule {
  static override readonly className: string = 'PiecewiseConstantDecay';
  readonly boundaries: readonly number[];
  readonly values: readonly number[];
  readonly name: string;

  constructor(options: PiecewiseConstantDecayOptions) {
    super();
    const api = 'PiecewiseConstantDecay';
    const o = checkOptions(api, options, ['boundaries', 'values', 'name']);
    const { boundaries, values } = o;
    if (!Array.isArray(boundaries) || !boundaries.every((b) => typeof b === 'number')) {
      throw typeError(api, 'boundaries as an array of numbers', boundaries);
    }
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'number')) {
      throw typeError(api, 'values as an array of numbers', values);
    }
    if (values.length !== boundaries.length + 1) {
      throw rangeError(api, `values with one more element than boundaries (${boundaries.length + 1})`, `${values.length}`, true);
    }
    boundaries.forEach((b: number, i: number) => {
      if (!Number.isFinite(b) || (i > 0 && !(b > boundaries[i - 1]))) {
        throw rangeError(api, 'strictly increasing finite boundaries', `[${boundaries.join(',')}]`, true);
      }
    });
    values.forEach((v: number, i: number) => nonNegative(api, `values[${i}]`, v));
    this.boundaries = Object.freeze([...(boundaries as number[])]);
    this.values = Object.freeze([...(values as number[])]);
    this.name = nameOf(api, o.name, 'PiecewiseConstant');
  }

  call(step: number): number {
    const s = nonNegative('PiecewiseConstantDecay.call', 'step', step);
    for (let i = 0; i < this.boundaries.length; i++) if (s <= this.boundaries[i]) return this.values[i];
    return this.values[this.values.length - 1];
  }

  getConfig(): Record<string, unknown> {
    return { boundaries: [...this.boundaries], values: [...this.values], name: this.name };
  }
}

type ScheduleClass = (abstract new (...args: never[]) => LearningRateSchedule) & {
  className: string;
  fromConfig(config: Record<string, unknown>): LearningRateSchedule;
};

const builtIn: readonly ScheduleClass[] = [ExponentialDecay, InverseTimeDecay, PolynomialDecay, CosineDecay, PiecewiseConstantDecay];

/**
 * `{ className, config }` of a schedule (what optimizers put in their config).
 * @throws {TypeError} when `schedule` is not a LearningRateSchedule
 * @example
 * nk.optimizers.schedules.serialize(new nk.optimizers.schedules.CosineDecay({ initialLearningRate: 0.1, decaySteps: 10 }));
 * // { className: 'CosineDecay', config: { initialLearningRate: 0.1, decaySteps: 10, alpha: 0, ... } }
 */
export function serialize(schedule: LearningRateSchedule): SerializedSchedule {
  if (!(schedule instanceof LearningRateSchedule)) throw typeError('schedules.serialize', 'a LearningRateSchedule', schedule);
  const cls = schedule.constructor as ScheduleClass;
  return { className: cls.className, config: schedule.getConfig() };
}

/**
 * The schedule a {@link serialize} result describes.
 * @param customObjects your own LearningRateSchedule subclasses, by className
 * @throws {TypeError} for a malformed object
 * @throws {RangeError} for an unknown className
 * @example
 * const lr = nk.optimizers.schedules.deserialize({ className: 'ExponentialDecay', config: { initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 } });
 */
export function deserialize(
  serialized: SerializedSchedule,
  customObjects: Record<string, ScheduleClass> = {},
): LearningRateSchedule {
  const api = 'schedules.deserialize';
  if (typeof serialized !== 'object' || serialized === null || typeof serialized.className !== 'string') {
    throw typeError(api, 'an object { className, config }', serialized);
  }
  const { className, config } = serialized;
  if (typeof config !== 'object' || config === null) throw typeError(api, 'config as an object', config);
  const cls = customObjects[className] ?? builtIn.find((c) => c.className === className);
  if (cls === undefined) {
    throw rangeError(api, `a className among ${builtIn.map((c) => c.className).join(', ')} or customObjects`, `'${className}'`, true);
  }
  return cls.fromConfig(config);
}
