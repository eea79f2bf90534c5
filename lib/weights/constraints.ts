import { rangeError, typeError } from '../core/errors.js';
import { resolveIdentifier, type Registry, type SerializedObject } from './serialization.js';
import { channelAxes, nonNegative } from '../core/validate.js';
import { Tensor } from '../core/tensor.js';

/** Serialized form, as Keras writes it: `{ className, config }`. */
export type ConstraintConfig = SerializedObject;

/**
 * A projection applied to a variable after each optimizer step (Keras'
 * `kernel_constraint`, `gamma_constraint`, ...). Not differentiated.
 */
export abstract class Constraint {
  abstract readonly className: string;
  /** The projected value (a new tensor of the same shape and dtype). */
  abstract apply(w: Tensor): Tensor;
  getConfig(): Record<string, unknown> {
    return {};
  }
  serialize(): ConstraintConfig {
    return { className: this.className, config: this.getConfig() };
  }
}

/** Keras' backend epsilon, which keeps norm divisions finite. */
const EPSILON = 1e-7;

/** Sets negative weights to zero. */
export class NonNeg extends Constraint {
  readonly className = 'NonNeg';
  apply(w: Tensor): Tensor {
    return new Tensor(w.data.map((v) => (v >= 0 ? v : 0)), w.shape);
  }
}

/** Scales `w` so that the L2 norm over `axis` becomes `desired(norm)`. */
abstract class NormConstraint extends Constraint {
  readonly axis: number | number[];
  constructor(axis: number | number[] | undefined, api: string) {
    super();
    const a = axis ?? 0;
    if (!(Number.isInteger(a) || (Array.isArray(a) && a.every((v) => Number.isInteger(v))))) {
      throw typeError(api, 'axis as an integer or an array of integers', axis);
    }
    this.axis = a;
  }
  protected abstract desired(norm: number): number;
  apply(w: Tensor): Tensor {
    const axes = channelAxes(`constraints.${this.className}`, 'axis', this.axis, Math.max(w.rank, 1));
    const shape = w.rank === 0 ? [1] : w.shape;
    const strides = shape.map((_, d) => shape.slice(d + 1).reduce((p, q) => p * q, 1));
    // Group elements by their index on the kept (non-normed) axes.
    const keyOf = (flat: number) => {
      let key = 0;
      for (let d = 0; d < shape.length; d++) {
        if (axes.includes(d)) continue;
        key = key * shape[d] + (Math.floor(flat / strides[d]) % shape[d]);
      }
      return key;
    };
    const groups = shape.reduce((p, d, i) => (axes.includes(i) ? p : p * d), 1);
    const sq = new Float64Array(groups);
    for (let i = 0; i < w.size; i++) sq[keyOf(i)] += w.data[i] * w.data[i];
    const out = w.data.slice();
    for (let i = 0; i < w.size; i++) {
      const norm = Math.sqrt(sq[keyOf(i)]);
      out[i] = w.data[i] * (this.desired(norm) / (EPSILON + norm));
    }
    return new Tensor(out, w.shape);
  }
  override getConfig(): Record<string, unknown> {
    return { axis: this.axis };
  }
}

/** Norm over `axis` at most `maxValue` (default 2). */
export class MaxNorm extends NormConstraint {
  readonly className = 'MaxNorm';
  readonly maxValue: number;
  constructor(options: { maxValue?: number; axis?: number | number[] } = {}) {
    super(options.axis, 'constraints.MaxNorm');
    this.maxValue = nonNegative('constraints.MaxNorm', 'maxValue', options.maxValue ?? 2);
  }
  protected desired(norm: number): number {
    return Math.min(Math.max(norm, 0), this.maxValue);
  }
  override getConfig(): Record<string, unknown> {
    return { maxValue: this.maxValue, axis: this.axis };
  }
}

/** Norm over `axis` moved towards [minValue, maxValue] at `rate` (Keras' MinMaxNorm). */
export class MinMaxNorm extends NormConstraint {
  readonly className = 'MinMaxNorm';
  readonly minValue: number;
  readonly maxValue: number;
  readonly rate: number;
  constructor(options: { minValue?: number; maxValue?: number; rate?: number; axis?: number | number[] } = {}) {
    super(options.axis, 'constraints.MinMaxNorm');
    const api = 'constraints.MinMaxNorm';
    this.minValue = nonNegative(api, 'minValue', options.minValue ?? 0);
    this.maxValue = nonNegative(api, 'maxValue', options.maxValue ?? 1);
    if (this.minValue > this.maxValue) throw rangeError(api, 'minValue <= maxValue', `${this.minValue} > ${this.maxValue}`, true);
    this.rate = nonNegative(api, 'rate', options.rate ?? 1);
    if (this.rate > 1) throw rangeError(api, 'rate in [0, 1]', this.rate);
  }
  protected desired(norm: number): number {
    return this.rate * Math.min(Math.max(norm, this.minValue), this.maxValue) + (1 - this.rate) * norm;
  }
  override getConfig(): Record<string, unknown> {
    return { minValue: this.minValue, maxValue: this.maxValue, rate: this.rate, axis: this.axis };
  }
}

/** Norm over `axis` equal to 1. */
export class UnitNorm extends NormConstraint {
  readonly className = 'UnitNorm';
  constructor(options: { axis?: number | number[] } = {}) {
    super(options.axis, 'constraints.UnitNorm');
  }
  protected desired(): number {
    return 1;
  }
}

const registry: Registry<Constraint> = {
  nonneg: () => new NonNeg(),
  maxnorm: (c) => new MaxNorm(c),
  minmaxnorm: (c) => new MinMaxNorm(c),
  unitnorm: (c) => new UnitNorm(c),
};

/** A constraint by instance, name ('nonNeg', 'maxNorm', 'minMaxNorm', 'unitNorm') or serialized form. */
export type ConstraintIdentifier = Constraint | string | ConstraintConfig;

/**
 * Resolves a constraint identifier; null/undefined give null (no constraint).
 * @throws {TypeError} for a wrong type; {RangeError} for an unknown name
 */
export function getConstraint(api: string, param: string, id: ConstraintIdentifier | null | undefined): Constraint | null {
  if (id === null || id === undefined) return null;
  return resolveIdentifier(api, param, id, Constraint, registry, 'a Constraint', 'nonNeg, maxNorm, minMaxNorm, unitNorm');
}
