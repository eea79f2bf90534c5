import { allocate, type DType } from '../core/dtype.js';
import { typeError } from '../core/errors.js';
import { resolveIdentifier, type Registry, type SerializedObject } from './serialization.js';
import { randomNormal, randomUniform } from '../core/creation.js';
import { Tensor } from '../core/tensor.js';

/** Serialized form, as Keras writes it: `{ className, config }`. */
export type InitializerConfig = SerializedObject;

/** Produces the initial value of a variable. */
export abstract class Initializer {
  /** Keras class name, e.g. 'Zeros'. */
  abstract readonly className: string;
  /** A new tensor of `shape` and `dtype`. */
  abstract call(shape: readonly number[], dtype: DType): Tensor;
  /** The arguments that recreate this initializer. */
  getConfig(): Record<string, unknown> {
    return {};
  }
  /** `{ className, config }`, accepted back by {@link getInitializer}. */
  serialize(): InitializerConfig {
    return { className: this.className, config: this.getConfig() };
  }
}

/** All zeros. */
export class Zeros extends Initializer {
  readonly className = 'Zeros';
  call(shape: readonly number[], dtype: DType): Tensor {
    return new Tensor(allocate(dtype, shape.reduce((a, b) => a * b, 1)), shape);
  }
}

/** All ones. */
export class Ones extends Initializer {
  readonly className = 'Ones';
  call(shape: readonly number[], dtype: DType): Tensor {
    return new Tensor(allocate(dtype, shape.reduce((a, b) => a * b, 1)).fill(1), shape);
  }
}

/** Every element `value`. */
export class Constant extends Initializer {
  readonly className = 'Constant';
  readonly value: number;
  constructor(options: { value?: number } = {}) {
    super();
    const value = options.value ?? 0;
    if (typeof value !== 'number') throw typeError('initializers.Constant', 'value as a number', value);
    this.value = value;
  }
  call(shape: readonly number[], dtype: DType): Tensor {
    return new Tensor(allocate(dtype, shape.reduce((a, b) => a * b, 1)).fill(this.value), shape);
  }
  override getConfig(): Record<string, unknown> {
    return { value: this.value };
  }
}

/** Normal distribution (seeded when `seed` is given). */
export class RandomNormal extends Initializer {
  readonly className = 'RandomNormal';
  readonly mean: number;
  readonly stddev: number;
  readonly seed: number | undefined;
  constructor(options: { mean?: number; stddev?: number; seed?: number } = {}) {
    super();
    this.mean = options.mean ?? 0;
    this.stddev = options.stddev ?? 0.05;
    this.seed = options.seed;
  }
  call(shape: readonly number[], dtype: DType): Tensor {
    return randomNormal(shape, { mean: this.mean, stddev: this.stddev, seed: this.seed, dtype });
  }
  override getConfig(): Record<string, unknown> {
    return { mean: this.mean, stddev: this.stddev, seed: this.seed ?? null };
  }
}

/** Uniform distribution on [minval, maxval) (seeded when `seed` is given). */
export class RandomUniform extends Initializer {
  readonly className = 'RandomUniform';
  readonly minval: number;
  readonly maxval: number;
  readonly seed: number | undefined;
  constructor(options: { minval?: number; maxval?: number; seed?: number } = {}) {
    super();
    this.minval = options.minval ?? -0.05;
    this.maxval = options.maxval ?? 0.05;
    this.seed = options.seed;
  }
  call(shape: readonly number[], dtype: DType): Tensor {
    return randomUniform(shape, { minval: this.minval, maxval: this.maxval, seed: this.seed, dtype });
  }
  override getConfig(): Record<string, unknown> {
    return { minval: this.minval, maxval: this.maxval, seed: this.seed ?? null };
  }
}

const registry: Registry<Initializer> = {
  zeros: () => new Zeros(),
  ones: () => new Ones(),
  constant: (c) => new Constant(c as { value?: number }),
  randomnormal: (c) => new RandomNormal(withoutNullSeed(c)),
  randomuniform: (c) => new RandomUniform(withoutNullSeed(c)),
};

function withoutNullSeed(c: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (v !== null && v !== undefined) out[k] = v as number;
  return out;
}

/** An initializer given by instance, by name, or by its serialized form. */
export type InitializerIdentifier = Initializer | string | InitializerConfig;

/**
 * Resolves an initializer identifier: an {@link Initializer}, a name
 * ('zeros', 'ones', 'constant', 'randomNormal', 'randomUniform'; Keras'
 * snake_case and class names work too) or `{ className, config }`.
 * @throws {TypeError} for anything else; {RangeError} for an unknown name
 */
export function getInitializer(api: string, param: string, id: InitializerIdentifier): Initializer {
  return resolveIdentifier(api, param, id, Initializer, registry, 'an Initializer', Object.keys(registry).join(', '));
}
