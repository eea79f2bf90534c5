import { readFileSync } from 'node:fs';
import { rangeError, typeError } from '../core/errors.js';
import { decodeSafetensors } from '../io/safetensors.js';
import type { Layer, LayerConfig } from './layer.js';

type LayerFactory = (config: LayerConfig) => Layer;
const factories = new Map<string, LayerFactory>();

/** Makes a layer class known to {@link deserializeLayer} and {@link loadLayer}. */
export function registerLayer(className: string, fromConfig: LayerFactory): void {
  factories.set(className, fromConfig);
}

/**
 * Recreates a layer from `{ className, config }` (what `getConfig()` gives, plus the class name).
 * @throws {RangeError} for an unknown class name
 */
export function deserializeLayer(spec: { className: string; config: LayerConfig }): Layer {
  const api = 'layers.deserializeLayer';
  if (typeof spec !== 'object' || spec === null || typeof spec.className !== 'string') {
    throw typeError(api, '{ className, config }', spec);
  }
  const factory = factories.get(spec.className);
  if (!factory) throw rangeError(api, `className one of ${[...factories.keys()].join(', ')}`, spec.className);
  return factory(spec.config);
}

/**
 * Loads a layer saved with `layer.saveWeights(path)`: its class and config
 * from the file's metadata, then its weights. The way a trained layer is
 * shipped to a service.
 * @throws {RangeError} when the file has no normkit metadata or does not match
 * @example
 * net.saveWeights('bn.safetensors');
 * const served = nk.layers.loadLayer('bn.safetensors');
 */
export function loadLayer(path: string): Layer {
  const api = 'layers.loadLayer';
  if (typeof path !== 'string' || path.length === 0) throw typeError(api, 'path as a non-empty string', path);
  const bytes = readFileSync(path);
  const { metadata } = decodeSafetensors(bytes, path);
  const className = metadata['normkit.class'];
  const configText = metadata['normkit.config'];
  if (typeof className !== 'string' || typeof configText !== 'string') {
    throw rangeError(api, `normkit.class and normkit.config metadata in ${path}`, 'a file without them', true);
  }
  const layer = deserializeLayer({ className, config: JSON.parse(configText) as LayerConfig });
  layer.deserializeWeights(bytes, path, api);
  return layer;
}
