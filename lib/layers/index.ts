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
export {
  LayerNormalization,
  type LayerNormalizationOptions,
  type LayerNormalizationConfig,
} from './layer_normalization.js';
export {
  GroupNormalization,
  type GroupNormalizationOptions,
  type GroupNormalizationConfig,
} from './group_normalization.js';
export {
  Normalization,
  type NormalizationOptions,
  type NormalizationConfig,
  type AdaptData,
  type AdaptBatch,
} from './normalization.js';
