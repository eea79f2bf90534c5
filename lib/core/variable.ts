import { inspect } from 'node:util';
import { Constraint } from '../weights/constraints.js';
import { allocate, isDType, type DType } from './dtype.js';
import { describe, rangeError, typeError } from './errors.js';
import { formatNumpyRepr } from './format.js';
import { noteVariableRead } from '../autodiff/tape.js';
import { shapeTuple, Tensor, toTensor, type TensorLike } from './tensor.js';

/** Options of {@link Variable}. */
export interface VariableOptions {
  /** Full name, e.g. `batch_normalization/gamma:0` (default `Variable:0`). */
  name?: string;
  /** Whether optimizers train it and tapes watch it automatically (default true). */
  trainable?: boolean;
  /** Element type; defaults to the initial value's dtype. */
  dtype?: DType;
  /** Projection applied after each optimizer step (e.g. `new nk.constraints.NonNeg()`). */
  constraint?: Constraint | null;
}

/**
 * A named, mutable tensor: the state of a layer (`gamma`, `beta`, moving
 * statistics) or any value an optimizer trains. Ops accept a variable wherever
 * they accept a tensor and read its current value; a gradient tape that is
 * recording watches trainable variables automatically when they are read.
 *
 * Assignment writes in place (the value keeps its identity and buffer) and is
 * all-or-nothing: a rejected assignment leaves the variable unchanged.
 *
 * @example
 * const v = new nk.Variable(nk.ones([3]), { name: 'gamma:0' });
 * v.assignSub(nk.tensor([0.1, 0.2, 0.3]));
 * console.log(String(v));
 * // <tf.Variable 'gamma:0' shape=(3,) dtype=float32, numpy=array([0.9, 0.8, 0.7], dtype=float32)>
 */
export class Variable {
  readonly name: string;
  readonly trainable: boolean;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Applied by optimizers after each update of this variable. */
  constraint: Constraint | null;
  private readonly value: Tensor;

  /**
   * @param initialValue the first value (copied)
   * @throws {TypeError} for a non-tensor-like value, a non-string name or a bad dtype
   */
  constructor(initialValue: TensorLike, options: VariableOptions = {}) {
    const api = 'Variable';
    if (typeof options !== 'object' || options === null) throw typeError(api, 'an options object', options);
    const { name = 'Variable:0', trainable = true, dtype, constraint = null } = options;
    if (typeof name !== 'string' || name.length === 0) throw typeError(api, 'name as a non-empty string', name);
    if (typeof trainable !== 'boolean') throw typeError(api, 'trainable as a boolean', trainable);
    if (dtype !== undefined && !isDType(dtype)) throw typeError(api, `dtype 'float32' or 'float64'`, dtype);
    if (constraint !== null && !(constraint instanceof Constraint)) throw typeError(api, 'constraint as a Constraint or null', constraint);
    const init = toTensor(initialValue, api, 'initialValue', dtype);
    const resolved = dtype ?? init.dtype;
    const data = allocate(resolved, init.size);
    data.set(init.data);
    this.value = new Tensor(data, init.shape);
    this.value._kept = true; // a variable's value outlives every tidy
    this.name = name;
    this.trainable = trainable;
    this.dtype = resolved;
    this.shape = this.value.shape;
    this.constraint = constraint;
  }

  /** Number of elements. */
  get size(): number {
    return this.value.size;
  }

  /**
   * The current value as a tensor (no copy: it changes when the variable is
   * assigned). Tells recording tapes that the variable was read.
   */
  read(): Tensor {
    noteVariableRead(this, this.value);
    return this.value;
  }

  /** A copy of the current value, detached from later assignments. */
  snapshot(): Tensor {
    return new Tensor(this.value.data.slice(), this.value.shape);
  }

  /** The values as nested arrays. */
  toArray(): ReturnType<Tensor['toArray']> {
    return this.value.toArray();
  }

  /**
   * Writes `value` into the variable. The shape must match exactly.
   * @throws {RangeError} when the shape differs
   */
  assign(value: TensorLike): this {
    const src = this.checked(value, 'Variable.assign');
    this.value.data.set(src.data);
    this.value.version++;
    return this;
  }

  /** `variable += delta` (same shape). */
  assignAdd(delta: TensorLike): this {
    const src = this.checked(delta, 'Variable.assignAdd');
    const d = this.value.data;
    for (let i = 0; i < d.length; i++) d[i] += src.data[i];
    this.value.version++;
    return this;
  }

  /** `variable -= delta` (same shape). */
  assignSub(delta: TensorLike): this {
    const src = this.checked(delta, 'Variable.assignSub');
    const d = this.value.data;
    for (let i = 0; i < d.length; i++) d[i] -= src.data[i];
    this.value.version++;
    return this;
  }

  /**
   * Internal: the value tensor, for in-place updates by optimizers and layers
   * (callers bump `version` after writing). Not recorded by tapes.
   * @internal
   */
  _storage(): Tensor {
    return this.value;
  }

  private checked(value: TensorLike, api: string): Tensor {
    const src = toTensor(value, api, 'value', this.dtype);
    if (src.size !== this.value.size || src.shape.length !== this.shape.length || src.shape.some((d, i) => d !== this.shape[i])) {
      throw rangeError(api, `a value of shape [${this.shape.join(',')}] for variable '${this.name}'`, describe(src), true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
    return src;
  }

  /** TensorFlow's repr: `<tf.Variable 'name' shape=(3,) dtype=float32, numpy=array([...], dtype=float32)>`. */
  toString(): string {
    const numpy = formatNumpyRepr(this.value.data, this.shape, this.dtype);
    return `<tf.Variable '${this.name}' shape=${shapeTuple(this.shape)} dtype=${this.dtype}, numpy=${numpy}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
