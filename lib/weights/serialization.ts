import { describe, rangeError, typeError } from '../core/errors.js';

/** Serialized form of a configurable object (initializer, regularizer, constraint), as Keras writes it. */
export interface SerializedObject {
  className: string;
  config: Record<string, unknown>;
}

/** Factories by normalized name: lower case, no underscores ('randomnormal', 'l1l2', 'maxnorm'). */
export type Registry<T> = Record<string, (config: Record<string, unknown>) => T>;

/**
 * Resolves what Keras calls an identifier: an instance of `cls`, a name
 * (Keras' snake_case, camelCase and class names all work: 'random_normal',
 * 'randomNormal', 'RandomNormal') or `{ className, config }`.
 * @param kind what `cls` is called in messages ('an Initializer')
 * @param names the accepted names listed in messages
 * @throws {TypeError} for anything else; {RangeError} for an unknown name
 */
export function resolveIdentifier<T>(
  api: string,
  param: string,
  id: unknown,
  cls: abstract new (...args: never[]) => T,
  registry: Registry<T>,
  kind: string,
  names: string,
): T {
  if (id instanceof cls) return id;
  let name: string;
  let config: Record<string, unknown> = {};
  if (typeof id === 'string') name = id;
  else if (typeof id === 'object' && id !== null && typeof (id as SerializedObject).className === 'string') {
    name = (id as SerializedObject).className;
    config = (id as SerializedObject).config ?? {};
  } else {
    throw typeError(api, `${param} as ${kind}, a name or { className, config }`, id);
  }
  const factory = registry[name.replace(/_/g, '').toLowerCase()];
  if (!factory) throw rangeError(api, `${param} one of ${names}`, describe(name), true);
  return factory(config);
}
