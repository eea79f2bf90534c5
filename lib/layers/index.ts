export { Layer, type LayerOptions, type ApplyOptions, type LayerConfig } from './layer.js';
export {
  BatchNormalization,
  type BatchNormalizationOptions,
  type BatchNormalizationConfig,
  type MovingVarianceCorrection,
} from './batch_normalization.js';
