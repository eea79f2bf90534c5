import { nonNegative } from '../core/validate.js';
import { resolveIdentifier, type Registry, type SerializedObject } from './serialization.js';
import { abs, add, mul, square } from '../ops/elementwise.js';
import { sum } from '../ops/reduction.js';
import type { Tensor } from '../core/tensor.js';

/** Serialized form, as Keras writes it: `{ className, config }`. */
export type RegularizerConfig = SerializedObject;

/**
 * A penalty on a weight, added to the loss through `layer.losses`. Computed
 * with differentiable ops, so it trains when summed into a taped loss.
 */
export abstract class Regularizer {
  abstract readonly className: string;
  /** The scalar penalty for `w`. */
  abstract apply(w: Tensor): Tensor;
  abstract getConfig(): Record<string, unknown>;
  serialize(): RegularizerConfig {
    return { className: this.className, config: this.getConfig() };
  }
}

/** `l1 * sum(|w|) + l2 * sum(w^2)` (Keras' L1L2; defaults 0). */
export class L1L2 extends Regularizer {
  readonly className: string = 'L1L2';
  readonly l1: number;
  readonly l2: number;
  constructor(options: { l1?: number; l2?: number } = {}) {
    super();
    this.l1 = nonNegative(`regularizers.${new.target.name}`, 'l1', options.l1 ?? 0);
    this.l2 = nonNegative(`regularizers.${new.target.name}`, 'l2', options.l2 ?? 0);
  }
  apply(w: Tensor): Tensor {
    const parts: Tensor[] = [];
    if (this.l1 !== 0) parts.push(mul(sum(abs(w)), this.l1));
    if (this.l2 !== 0) parts.push(mul(sum(square(w)), this.l2));
    if (parts.length === 0) return mul(sum(w), 0);
    return parts.length === 1 ? parts[0] : add(parts[0], parts[1]);
  }
  getConfig(): Record<string, unknown> {
    return { l1: this.l1, l2: this.l2 };
  }
}

/** `l1 * sum(|w|)` (Keras default l1 = 0.01). */
export class L1 extends L1L2 {
  override readonly className = 'L1';
  constructor(options: { l1?: number } = {}) {
    super({ l1: options.l1 ?? 0.01 });
  }
  override getConfig(): Record<string, unknown> {
    return { l1: this.l1 };
  }
}

/** `l2 * sum(w^2)` (Keras default l2 = 0.01). */
export class L2 extends L1L2 {
  override readonly className = 'L2';
  constructor(options: { l2?: number } = {}) {
    super({ l2: options.l2 ?? 0.01 });
  }
  override getConfig(): Record<string, unknown> {
    return { l2: this.l2 };
  }
}

const registry: Registry<Regularizer> = {
  l1: (c) => new L1(c),
  l2: (c) => new L2(c),
  l1l2: (c) => new L1L2(c),
};

/** A regularizer by instance, name ('l1', 'l2', 'l1l2') or serialized form. */
export type RegularizerIdentifier = Regularizer | string | RegularizerConfig;

/**
 * Resolves a regularizer identifier; null/undefined give null.
 * @throws {TypeError} for a wrong type; {RangeError} for an unknown name
 */
export function getRegularizer(api: string, param: string, id: RegularizerIdentifier | null | undefined): Regularizer | null {
  if (id === null || id === undefined) return null;
  return resolveIdentifier(api, param, id, Regularizer, registry, 'a Regularizer', 'l1, l2, l1l2');
}
