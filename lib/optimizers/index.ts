export { Optimizer, type OptimizerOptions, type GradientAndVariable } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
