/** Finite-difference gradient checks (float64, central differences) and reference broadcasting for op tests. */
import { expect } from 'vitest';
import { GradientTape } from '../lib/autodiff/tape.js';
import { Tensor } from '../lib/core/tensor.js';
import { mul } from '../lib/ops/elementwise.js';
import { uniform } from './helpers.js';

/** A float64 tensor of uniform values in [lo, hi). */
export function randomTensor(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  return new Tensor(uniform(size, seed, lo, hi), shape);
}

/**
 * Compares the tape gradient of L = sum(f(inputs) * W) (W fixed random
 * weights, so every output element matters differently) with central
 * differences of L computed in plain JavaScript, for every element of every input.
 */
export function checkGradients(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  { eps = 1e-6, rtol = 1e-5, atol = 1e-7, seed = 99 } = {},
): void {
  const probe = f(...inputs);
  const w = uniform(probe.size, seed, 0.5, 1.5);
  const weights = new Tensor(w, probe.shape);
  const tape = new GradientTape();
  tape.watch(inputs);
  const target = tape.record(() => mul(f(...inputs), weights));
  const grads = tape.gradient(target, inputs, { unconnectedGradients: 'zero' });
  const loss = (xs: Tensor[]): number => {
    const y = f(...xs).data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * w[i];
    return s;
  };
  inputs.forEach((input, k) => {
    const g = grads[k];
    expect(g, `gradient of input ${k}`).not.toBeNull();
    expect(g!.shape).toEqual(input.shape);
    expect(g!.dtype).toBe(input.dtype);
    for (let j = 0; j < input.size; j++) {
      const plus = input.data.slice();
      const minus = input.data.slice();
      plus[j] += eps;
      minus[j] -= eps;
      const at = (d: Float32Array | Float64Array) => inputs.map((t, i) => (i === k ? new Tensor(d, t.shape) : t));
      const numeric = (loss(at(plus)) - loss(at(minus))) / (2 * eps);
      const analytic = g!.data[j];
      if (!(Math.abs(analytic - numeric) <= atol + rtol * Math.abs(numeric))) {
        expect.fail(`input ${k} element ${j}: analytic ${analytic}, numeric ${numeric}`);
      }
    }
  });
}

/** NumPy-broadcast reference of a binary function, by explicit index arithmetic. */
export function refBinary(
  a: Tensor,
  b: Tensor,
  fn: (x: number, y: number) => number,
): { shape: number[]; data: Float64Array } {
  const rank = Math.max(a.rank, b.rank);
  const pa = [...new Array(rank - a.rank).fill(1), ...a.shape];
  const pb = [...new Array(rank - b.rank).fill(1), ...b.shape];
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const size = shape.reduce((p, d) => p * d, 1);
  const data = new Float64Array(size);
  for (let flat = 0; flat < size; flat++) {
    let rem = flat;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      ia += (pa[d] === 1 ? 0 : idx) * sa;
      ib += (pb[d] === 1 ? 0 : idx) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    data[flat] = fn(a.data[ia], b.data[ib]);
  }
  return { shape, data };
}
