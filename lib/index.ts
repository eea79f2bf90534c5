/**
 * normkit: batch normalization for Node.js, Keras-shaped, on native SIMD kernels.
 * This module only re-exports; see each file for the API.
 */
export { Tensor, tensor, type TensorLike, type NestedArray } from './core/tensor.js';
export type { DType, FloatArray } from './core/dtype.js';
export { NormkitTypeError, NormkitRangeError, type NormkitErrorCode } from './core/errors.js';
export { Variable, type VariableOptions } from './core/variable.js';
export { GradientTape, type GradientTapeOptions, type GradientOptions } from './autodiff/tape.js';
export * from './core/creation.js';
export { tidy, keep, dispose, memory, setMemoryPoolLimit, type MemoryInfo } from './core/memory.js';
export { setGlobalSeed } from './core/random.js';
export * from './ops/index.js';
export { normalize, moments } from './ops/moments.js';
export { zip } from './optimizers/optimizer.js';
export { backendInfo, setNumThreads, setIsa, type BackendInfo } from './backend.js';
export * as layers from './layers/index.js';
export * as optimizers from './optimizers/index.js';
export * as initializers from './weights/initializers.js';
export * as constraints from './weights/constraints.js';
export * as regularizers from './weights/regularizers.js';
export * as kernels from './kernels/index.js';
