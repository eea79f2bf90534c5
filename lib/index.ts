/**
 * normkit: batch normalization for Node.js, Keras-shaped, on native SIMD kernels.
 * This module only re-exports; see each file for the API.
 */
export { Tensor, tensor, type TensorLike, type NestedArray } from './tensor.js';
export type { DType, FloatArray } from './dtype.js';
export { NormkitTypeError, NormkitRangeError, type NormkitErrorCode } from './errors.js';
export { Variable, type VariableOptions } from './variable.js';
export { GradientTape, type GradientTapeOptions, type GradientOptions } from './tape.js';
export * from './creation.js';
export { setGlobalSeed } from './random.js';
export * from './ops/index.js';
export { normalize, moments } from './moments.js';
export { zip } from './optimizers/optimizer.js';
export { backendInfo, setNumThreads, setIsa, type BackendInfo } from './backend.js';
export * as layers from './layers/index.js';
export * as optimizers from './optimizers/index.js';
export * as initializers from './initializers.js';
export * as constraints from './constraints.js';
export * as regularizers from './regularizers.js';
export * as kernels from './kernels.js';
