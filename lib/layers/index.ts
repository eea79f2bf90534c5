export { Layer, type LayerOptions, type ApplyOptions, type LayerConfig } from './layer.js';
export {
  BatchNormalization,
  type BatchNormalizationOptions,
  type BatchNormalizationConfig,
  type MovingVarianceCorrection,
  type RenormClipping,
  type BatchNormalizationApplyOptions,
} from './batch_normalization.js';
export { registerLayer, deserializeLayer, loadLayer } from './registry.js';
