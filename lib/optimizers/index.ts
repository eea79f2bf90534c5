export { Optimizer, type OptimizerOptions, type GradientAndVariable, type UpdateStep } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions, type AdamWOptions } from './adam.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { Adagrad, type AdagradOptions } from './adagrad.js';
export { serialize, deserialize, get, type SerializedOptimizer } from './registry.js';
export * as schedules from './schedules.js';
