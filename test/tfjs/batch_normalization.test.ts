/**
 * Differential tests: normkit's BatchNormalization against TensorFlow.js'
 * `tf.layers.batchNormalization` (cpu backend), same inputs and initial
 * weights, over a grid of shapes and flags. TensorFlow.js feeds the biased
 * batch variance into moving_variance, so normkit runs with
 * movingVarianceCorrection: 'biased' here.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { buildTwins } from './twins.js';
import { expectClose, refNormalize, refStats, uniform32 as f32 } from '../helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const TOL = 2e-5;

interface Case {
  shape: number[];
  axis: number;
  center: boolean;
  scale: boolean;
  momentum: number;
  epsilon: number;
}

// The grid is what tfjs-layers 4.22 (cpu) gets right. Found while building it:
// training with center: false or scale: false throws inside tfjs (it reads the
// missing beta/gamma), rank 5 throws NotImplementedError, and any channel axis
// other than the last trains wrong (checked below, so a fixed tfjs shows up).
const cases: Case[] = [];
for (const [shape, axis] of [[[8, 3], -1], [[6, 4], 1], [[4, 5, 6], -1], [[2, 4, 4, 3], -1], [[5, 3, 4], 2], [[3, 2, 2, 7], 3]] as [number[], number][]) {
  for (const [momentum, epsilon] of [[0.9, 1e-3], [0.99, 1e-5]]) {
    cases.push({ shape, axis, center: true, scale: true, momentum, epsilon });
  }
}

describe('BatchNormalization vs tf.layers.batchNormalization', () => {
  for (const c of cases) {
    const label = `[${c.shape}] axis ${c.axis} momentum ${c.momentum} epsilon ${c.epsilon}`;
    it(`matches outputs, moving statistics and gradients (${label})`, () => {
      const size = c.shape.reduce((a, b) => a * b, 1);
      const channels = c.shape.at(c.axis)!;
      const x = f32(size, 1, -2, 4);
      const w = f32(size, 2, -1, 1);
      const weights: Float32Array[] = [];
      if (c.scale) weights.push(f32(channels, 3, 0.5, 1.5));
      if (c.center) weights.push(f32(channels, 4, -0.5, 0.5));
      weights.push(f32(channels, 5, -0.3, 0.3), f32(channels, 6, 0.5, 2));

      const ours = new nk.layers.BatchNormalization({ axis: c.axis, center: c.center, scale: c.scale, momentum: c.momentum, epsilon: c.epsilon, movingVarianceCorrection: 'biased' });
      const theirs = tfl.layers.batchNormalization({ axis: c.axis, center: c.center, scale: c.scale, momentum: c.momentum, epsilon: c.epsilon });
      const { xt, wt, xn, wn } = buildTwins(ours, theirs, x, w, c.shape);
      ours.setWeights(weights.map((a) => nk.tensor(a)));
      theirs.setWeights(weights.map((a) => tf.tensor(a)));

      // Inference.
      expectClose(ours.apply(xn).data, (theirs.apply(xt) as tf.Tensor).dataSync(), TOL, TOL);
      // Training output and moving statistics after three steps.
      for (let i = 0; i < 3; i++) {
        const yo = ours.apply(xn, { training: true });
        const yt = theirs.apply(xt, { training: true }) as tf.Tensor;
        expectClose(yo.data, yt.dataSync(), TOL, TOL);
      }
      const tw = theirs.getWeights().map((t) => t.dataSync());
      ours.getWeights().forEach((t, i) => expectClose(t.data, tw[i], TOL, TOL));

      // Gradients of sum(w * y) for x, gamma, beta, in training and inference mode.
      for (const training of [false, true]) {
        const tape = new nk.GradientTape();
        tape.watch(xn);
        const loss = tape.record(() => nk.sum(nk.mul(ours.apply(xn, { training }), wn)));
        const grads = tape.gradient(loss, [xn, ...ours.trainableVariables]);
        const f = (xx: tf.Tensor) => tf.sum(tf.mul(theirs.apply(xx, { training }) as tf.Tensor, wt));
        const dxTheirs = tf.grad(f)(xt);
        const vars = theirs.trainableWeights.map((v) => v.read() as tf.Variable);
        const { grads: varGrads } = tf.variableGrads(() => f(xt) as tf.Scalar, vars);
        expectClose(grads[0]!.data, dxTheirs.dataSync(), 1e-4, 1e-4);
        vars.forEach((v, i) => expectClose(grads[i + 1]!.data, varGrads[v.name].dataSync(), 1e-4, 1e-4));
      }
    });
  }

  for (const shape of [[2, 3, 4, 5], [4, 5, 6]]) {
    it(`stays correct where tfjs-layers trains wrong: channel axis not last ([${shape}], axis 1)`, () => {
      // normkit is checked against the float64 reference; if tfjs is ever
      // fixed, the last assertion tells us to move this case into the grid.
      const size = shape.reduce((a, b) => a * b, 1);
      const x = f32(size, 9, -1, 3);
      const ours = new nk.layers.BatchNormalization({ axis: 1 }).apply(nk.tensor(x, shape), { training: true });
      const inner = size / shape[0] / shape[1];
      const { mean, variance } = refStats(x, shape[0], shape[1], inner);
      const ref = refNormalize(x, shape[0], shape[1], inner, mean, variance, 1e-3);
      expectClose(ours.data, ref, 1e-5, 1e-5);
      const theirs = (tfl.layers.batchNormalization({ axis: 1 }).apply(tf.tensor(x, shape), { training: true }) as tf.Tensor).dataSync();
      const worst = Math.max(...Array.from(theirs, (v, i) => Math.abs(v - ref[i])));
      expect(worst).toBeGreaterThan(0.01);
    });
  }
});
