/**
 * Loads every op's gradient (each file registers its own with
 * lib/autodiff/registry.ts). One file per op family, named after the op
 * file whose forwards it differentiates.
 */
import './batch_norm_grad.js';
import './elementwise_grad.js';
import './group_norm_grad.js';
import './layer_norm_grad.js';
import './moments_grad.js';
import './reduction_grad.js';
import './shape_grad.js';
