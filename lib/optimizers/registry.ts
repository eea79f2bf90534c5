import { rangeError, typeError } from '../core/errors.js';
import { Adagrad } from './adagrad.js';
import { Adam, AdamW } from './adam.js';
import { Optimizer } from './optimizer.js';
import { RMSprop } from './rmsprop.js';
import { SGD } from './sgd.js';

/** `{ className, config }`: an optimizer as plain JSON. */
export interface SerializedOptimizer {
  className: string;
  config: Record<string, unknown>;
}

const builtIn = { SGD, Adam, AdamW, RMSprop, Adagrad } as const;

/**
 * `{ className, config }` of an optimizer (its hyper-parameters, not its slots).
 * @throws {TypeError} when `optimizer` is not an Optimizer
 * @example
 * JSON.stringify(nk.optimizers.serialize(new nk.optimizers.Adam()));
 */
export function serialize(optimizer: Optimizer): SerializedOptimizer {
  if (!(optimizer instanceof Optimizer)) throw typeError('optimizers.serialize', 'an Optimizer', optimizer);
  const cls = optimizer.constructor as unknown as { className: string };
  return { className: cls.className, config: optimizer.getConfig() };
}

/**
 * A new optimizer from {@link serialize}'s output.
 * @throws {TypeError} for a malformed object
 * @throws {RangeError} for an unknown className
 * @example
 * const opt = nk.optimizers.deserialize({ className: 'Adam', config: { learningRate: 0.01 } });
 */
export function deserialize(serialized: SerializedOptimizer): Optimizer {
  const api = 'optimizers.deserialize';
  if (typeof serialized !== 'object' || serialized === null || typeof serialized.className !== 'string') {
    throw typeError(api, 'an object { className, config }', serialized);
  }
  const cls = Object.hasOwn(builtIn, serialized.className)
    ? (builtIn as Record<string, { fromConfig(config: Record<string, unknown>): Optimizer }>)[serialized.className]
    : undefined;
  if (cls === undefined) {
    throw rangeError(api, `a className among ${Object.keys(builtIn).join(', ')}`, `'${serialized.className}'`, true);
  }
  return cls.fromConfig(serialized.config ?? {});
}

/**
 * An optimizer from a Keras-style identifier: a name (`'sgd'`, `'adam'`,
 * `'adamw'`, `'rmsprop'`, `'adagrad'`, any case) with default arguments, a
 * serialized object, or an Optimizer (returned as is).
 * @throws {TypeError} for another kind of value
 * @throws {RangeError} for an unknown name
 * @example
 * const opt = nk.optimizers.get('rmsprop');
 */
export function get(identifier: string | SerializedOptimizer | Optimizer): Optimizer {
  if (identifier instanceof Optimizer) return identifier;
  if (typeof identifier === 'string') {
    const key = Object.keys(builtIn).find((k) => k.toLowerCase() === identifier.toLowerCase());
    if (key === undefined) {
      throw rangeError('optimizers.get', `a name among ${Object.keys(builtIn).join(', ')}`, `'${identifier}'`, true);
    }
    return new builtIn[key as keyof typeof builtIn]();
  }
  if (typeof identifier === 'object' && identifier !== null) return deserialize(identifier);
  throw typeError('optimizers.get', 'a name, a { className, config } object or an Optimizer', identifier);
}
