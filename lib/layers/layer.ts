import { readFileSync, writeFileSync } from 'node:fs';
import type { Constraint } from '../weights/constraints.js';
import type { DType } from '../core/dtype.js';
import { boolean, dtype as checkDtype, nonEmptyString } from '../core/validate.js';
import { describe, rangeError, typeError } from '../core/errors.js';
import type { Initializer } from '../weights/initializers.js';
import { cast } from '../ops/cast.js';
import type { Regularizer } from '../weights/regularizers.js';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import { Tensor, toTensor, type TensorLike } from '../core/tensor.js';
import { Variable } from '../core/variable.js';

/** Options every layer accepts. */
export interface LayerOptions {
  /** Layer name; default a unique snake_case name from the class (`batch_normalization`, `batch_normalization_1`, ...). */
  name?: string;
  /** Whether the layer's weights are trained (default true). */
  trainable?: boolean;
  /** dtype of the weights and of the computation (default 'float32'); inputs are cast to it. */
  dtype?: DType;
}

/** Options of {@link Layer.apply}. */
export interface ApplyOptions {
  /** Training mode (batch statistics, dropout, ...). Default false, as Keras. */
  training?: boolean;
}

/** Serializable layer arguments. */
export interface LayerConfig {
  name: string;
  trainable: boolean;
  dtype: DType;
  [key: string]: unknown;
}

const nameCounts = new Map<string, number>();

/** Keras' unique naming: `base`, then `base_1`, `base_2`, ... in this process. */
export function uniqueLayerName(base: string): string {
  const n = nameCounts.get(base) ?? 0;
  nameCounts.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

/** `BatchNormalization` -> `batch_normalization`. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * Base class of layers, as Keras': weights are created lazily by
 * {@link build} on the first {@link apply}, when the input shape is known.
 * Subclasses implement `build(inputShape)` and `call(x, options)`.
 */
export abstract class Layer {
  readonly name: string;
  readonly dtype: DType;
  private trainableFlag: boolean;
  private weights: Variable[] = [];
  private regularized: [Variable, Regularizer][] = [];
  /** True once {@link build} ran. */
  built = false;
  /** The input shape the layer was built for (empty before the first call). */
  protected buildShape: readonly number[] = [];

  constructor(options: LayerOptions = {}, api = 'Layer') {
    if (typeof options !== 'object' || options === null) throw typeError(api, 'an options object', options);
    const { name, trainable = true, dtype = 'float32' } = options;
    if (name !== undefined && (typeof name !== 'string' || name.length === 0 || /[\s:]/.test(name))) {
      throw typeError(api, 'name as a non-empty string without spaces or colons', name);
    }
    this.trainableFlag = boolean(api, 'trainable', trainable);
    this.dtype = checkDtype(api, 'dtype', dtype);
    this.name = name ?? uniqueLayerName(toSnakeCase(this.constructor.name));
  }

  /** Whether the weights are trained. Layers may give it more meaning (BatchNormalization: frozen statistics). */
  get trainable(): boolean {
    return this.trainableFlag;
  }
  set trainable(value: boolean) {
    if (typeof value !== 'boolean') throw typeError(`${this.constructor.name}.trainable`, 'a boolean', value);
    this.trainableFlag = value;
  }

  /** All weights in creation order. */
  get variables(): Variable[] {
    return this.weights.slice();
  }

  /** Weights an optimizer should update (none when the layer is not trainable). */
  get trainableVariables(): Variable[] {
    return this.trainableFlag ? this.weights.filter((v) => v.trainable) : [];
  }

  /** The other weights (moving statistics, or all of them when the layer is frozen). */
  get nonTrainableVariables(): Variable[] {
    return this.trainableFlag ? this.weights.filter((v) => !v.trainable) : this.weights.slice();
  }

  /** Creates the weights for inputs of `inputShape`. Called once, by {@link apply}. */
  protected abstract build(inputShape: readonly number[]): void;

  /** The layer's computation on an input of the layer's dtype. */
  protected abstract call(x: Tensor, options: ApplyOptions): Tensor;

  /** Checks an input against what the layer was built for (or can be built for); throws with a clear message. */
  protected abstract checkInput(x: Tensor, api: string): void;

  /**
   * Runs the layer on `x` (building it on the first call).
   * @param x input tensor (or anything {@link tensor} accepts); cast to the layer's dtype
   * @param options `{ training }` (default false)
   * @throws {TypeError} for a non-tensor input or bad options
   * @throws {RangeError} for an input incompatible with the layer
   */
  apply(x: TensorLike, options: ApplyOptions = {}): Tensor {
    const wasBuilt = this.built;
    try {
      const [input, opts] = this.prepare(x, options, `${this.constructor.name}.apply`);
      return this.call(input, opts);
    } catch (e) {
      if (!wasBuilt) this.unbuild();
      throw e;
    }
  }

  /**
   * {@link apply} with the heavy work on the libuv thread pool, so the event
   * loop stays free. Not recorded by gradient tapes (a tape records
   * synchronously); validation and the first build happen before it returns.
   * The layer's weights used are copied at call time, so an optimizer step
   * during the await does not change this result.
   * @throws same as {@link apply}, as a rejected Promise
   */
  async applyAsync(x: TensorLike, options: ApplyOptions = {}): Promise<Tensor> {
    const wasBuilt = this.built;
    try {
      const [input, opts] = this.prepare(x, options, `${this.constructor.name}.applyAsync`);
      return await this.callAsync(input, opts);
    } catch (e) {
      if (!wasBuilt && this.built) this.unbuild();
      throw e;
    }
  }

  /**
   * Undoes the build of a first call that failed (a bad mask, one value per
   * channel, ...), so that a rejected call leaves the layer as it was: not
   * built, no weights, no input shape fixed.
   */
  private unbuild(): void {
    this.weights = [];
    this.regularized = [];
    this.buildShape = [];
    this.built = false;
  }

  /** Checks options and input, builds on the first call, casts to the layer dtype. */
  private prepare(x: TensorLike, options: ApplyOptions, api: string): [Tensor, ApplyOptions] {
    if (typeof options !== 'object' || options === null) throw typeError(api, 'options as { training?: boolean }', options);
    const training = options.training ?? false;
    if (typeof training !== 'boolean') throw typeError(api, 'options.training as a boolean', training);
    let input = toTensor(x, api, 'x', this.dtype);
    this.checkInput(input, api);
    if (!this.built) this.buildFor(input.shape);
    if (input.dtype !== this.dtype) input = cast(input, this.dtype);
    return [input, { ...options, training }];
  }

  /** Builds the layer for `shape` and records it (what the first apply does). */
  protected buildFor(shape: readonly number[]): void {
    this.build(shape);
    this.buildShape = shape.slice();
    this.built = true;
  }

  /** The async computation; layers without native async kernels run {@link call}. */
  protected callAsync(x: Tensor, options: ApplyOptions): Promise<Tensor> {
    return Promise.resolve(this.call(x, options));
  }

  /** Creates a weight named `<layer>/<name>:0`. For use in {@link build}. */
  protected addWeight(
    name: string,
    shape: readonly number[],
    initializer: Initializer,
    trainable: boolean,
    extras: { regularizer?: Regularizer | null; constraint?: Constraint | null } = {},
  ): Variable {
    const v = new Variable(initializer.call(shape, this.dtype), {
      name: `${this.name}/${name}:0`,
      trainable,
      dtype: this.dtype,
      constraint: extras.constraint ?? null,
    });
    this.weights.push(v);
    if (extras.regularizer) this.regularized.push([v, extras.regularizer]);
    return v;
  }

  /**
   * Regularization penalties of the weights (one scalar tensor each), computed
   * when read, so reading them inside `tape.record` makes them differentiable:
   * `loss = layer.losses.reduce((a, b) => nk.add(a, b), loss)`.
   */
  get losses(): Tensor[] {
    return this.regularized.map(([v, r]) => r.apply(v.read()));
  }

  /**
   * Writes the weights and the layer's class and config to `path` as
   * safetensors (tensor names are the weight names without the layer prefix,
   * e.g. `gamma:0`; metadata `normkit.class`, `normkit.config`,
   * `normkit.input_shape`). {@link loadWeights} and `layers.loadLayer` read it.
   * @throws {RangeError} when the layer is not built yet
   */
  saveWeights(path: string): void {
    writeFileSync(nonEmptyString(`${this.constructor.name}.saveWeights`, 'path', path), this.serializeWeights());
  }

  /** The bytes {@link saveWeights} writes. */
  serializeWeights(): Uint8Array {
    const api = `${this.constructor.name}.saveWeights`;
    if (!this.built) throw rangeError(api, 'a built layer (call it once first)', 'a layer without weights', true, 'ERR_NORMKIT_INVALID_STATE');
    const prefix = `${this.name}/`;
    return encodeSafetensors(
      this.weights.map((v) => [v.name.slice(prefix.length), v.snapshot()] as [string, Tensor]),
      {
        'normkit.class': this.constructor.name,
        'normkit.config': JSON.stringify(this.getConfig()),
        'normkit.input_shape': JSON.stringify(this.buildShape),
      },
    );
  }

  /**
   * Loads weights written by {@link saveWeights}. An unbuilt layer is built
   * for the saved input shape first. Every name, shape and dtype is checked
   * before anything is written: on error the layer is unchanged.
   * @throws {RangeError} when the file does not hold exactly this layer's weights
   */
  loadWeights(path: string): void {
    const api = `${this.constructor.name}.loadWeights`;
    this.deserializeWeights(readFileSync(nonEmptyString(api, 'path', path)), path, api);
  }

  /** {@link loadWeights} from bytes in memory. */
  deserializeWeights(bytes: Uint8Array, source = 'bytes', api = `${this.constructor.name}.loadWeights`): void {
    const { tensors, metadata } = decodeSafetensors(bytes, source);
    if (!this.built) {
      const shape = JSON.parse(metadata['normkit.input_shape'] ?? 'null') as number[] | null;
      if (!Array.isArray(shape)) throw rangeError(api, `normkit.input_shape metadata in ${source} to build the layer`, 'none', true);
      this.checkInput(new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape), api);
      this.buildFor(shape);
    }
    const prefix = `${this.name}/`;
    const names = this.weights.map((v) => v.name.slice(prefix.length));
    const extra = [...tensors.keys()].filter((k) => !names.includes(k));
    if (extra.length > 0 || tensors.size !== names.length) {
      throw rangeError(api, `weights [${names.join(', ')}] in ${source}`, `[${[...tensors.keys()].join(', ')}]`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
    this.setWeights(names.map((n) => {
      const t = tensors.get(n)!;
      return t.dtype === this.dtype ? t : cast(t, this.dtype);
    }));
  }

  /** Copies of the weights' values, in creation order. */
  getWeights(): Tensor[] {
    return this.weights.map((v) => v.snapshot());
  }

  /**
   * Sets every weight at once, in creation order. All shapes are checked
   * before anything is written: on error no weight changes.
   * @throws {RangeError} when the count or a shape differs, or the layer is not built
   */
  setWeights(values: readonly TensorLike[]): void {
    const api = `${this.constructor.name}.setWeights`;
    if (!Array.isArray(values)) throw typeError(api, 'an array of tensors', values);
    if (values.length !== this.weights.length) {
      throw rangeError(api, `${this.weights.length} weights${this.built ? '' : ' (the layer is not built yet: call it once or build it)'}`, `${values.length}`, true);
    }
    const tensors = values.map((value, i) => {
      const t = toTensor(value, api, `values[${i}]`, this.dtype);
      const w = this.weights[i];
      if (t.shape.length !== w.shape.length || t.shape.some((d, k) => d !== w.shape[k])) {
        throw rangeError(api, `values[${i}] of shape [${w.shape.join(',')}] for '${w.name}'`, describe(t), true, 'ERR_NORMKIT_SHAPE_MISMATCH');
      }
      return t;
    });
    tensors.forEach((t, i) => this.weights[i].assign(t));
  }

  /** Arguments that recreate this layer with {@link fromConfig}-style static methods. */
  getConfig(): LayerConfig {
    return { name: this.name, trainable: this.trainableFlag, dtype: this.dtype };
  }
}
