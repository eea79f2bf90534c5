/**
 * The public differentiable ops. Re-exports only; each concept lives in its own file.
 */
export { broadcastTo } from './broadcast.js';
export { add, sub, mul, div, pow, maximum, minimum, neg, square, sqrt, exp, log, abs, sigmoid, relu, tanh, equal } from './elementwise.js';
export { sum, mean, max, min } from './reduction.js';
export { reshape, transpose, expandDims, squeeze, concat } from './shape.js';
export { cast } from './cast.js';
