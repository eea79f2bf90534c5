/**
 * Float64 TypeScript references of Keras 3's optimizers (keras/src/optimizers/*.py
 * update_step, base_optimizer.py _clip_gradients / _apply_weight_decay,
 * clip_by_global_norm), written as directly from the Python as possible.
 */

export type Kind = 'sgd' | 'adam' | 'rmsprop' | 'adagrad';

export interface ReferenceConfig {
  kind: Kind;
  /** A number, or the schedule's value at `iterations` (0 for the first step). */
  learningRate: number | ((iterations: number) => number);
  momentum?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  amsgrad?: boolean;
  rho?: number;
  centered?: boolean;
  initialAccumulatorValue?: number;
  weightDecay?: number | null;
  clipnorm?: number | null;
  clipvalue?: number | null;
  globalClipnorm?: number | null;
  /** Indices of variables excluded from weight decay. */
  excluded?: ReadonlySet<number>;
}

interface Slots {
  m: Float64Array;
  v: Float64Array;
  vHat: Float64Array;
  acc: Float64Array;
  mom: Float64Array;
  avg: Float64Array;
}

const norm = (g: Float64Array): number => Math.sqrt(g.reduce((s, x) => s + x * x, 0));

/**
 * Runs `gradients.length` steps from `starts`; `gradients[step][k]` is the
 * gradient of variable k at that step, or null (the variable is skipped).
 * Returns the final variable values and slots.
 */
export function runReference(
  cfg: ReferenceConfig,
  starts: readonly ArrayLike<number>[],
  gradients: readonly (readonly (ArrayLike<number> | null)[])[],
): { values: Float64Array[]; slots: Slots[] } {
  const values = starts.map((s) => Float64Array.from(s));
  const slots: Slots[] = values.map((v) => ({
    m: new Float64Array(v.length),
    v: new Float64Array(v.length),
    vHat: new Float64Array(v.length),
    acc: new Float64Array(v.length).fill(cfg.initialAccumulatorValue ?? 0.1),
    mom: new Float64Array(v.length),
    avg: new Float64Array(v.length),
  }));
  gradients.forEach((stepGrads, iterations) => {
    const lr = typeof cfg.learningRate === 'number' ? cfg.learningRate : cfg.learningRate(iterations);
    let grads = stepGrads.map((g) => (g === null ? null : Float64Array.from(g)));
    // _clip_gradients
    if (cfg.clipnorm) {
      const c = cfg.clipnorm;
      grads = grads.map((g) => g && g.map((x) => (x * c) / Math.max(norm(g), c)));
    } else if (cfg.globalClipnorm) {
      const c = cfg.globalClipnorm;
      const useNorm = Math.sqrt(grads.reduce((s, g) => s + (g ? norm(g) ** 2 : 0), 0));
      const scale = c * Math.min(1 / useNorm, 1 / c) + (useNorm - useNorm);
      grads = grads.map((g) => g && g.map((x) => x * scale));
    } else if (cfg.clipvalue) {
      const c = cfg.clipvalue;
      grads = grads.map((g) => g && g.map((x) => Math.min(Math.max(x, -c), c)));
    }
    // _apply_weight_decay (variables with a gradient only)
    if (cfg.weightDecay !== undefined && cfg.weightDecay !== null) {
      grads.forEach((g, k) => {
        if (g === null || cfg.excluded?.has(k)) return;
        const w = values[k];
        for (let i = 0; i < w.length; i++) w[i] = w[i] - w[i] * cfg.weightDecay! * lr;
      });
    }
    grads.forEach((g, k) => {
      if (g === null) return;
      const w = values[k];
      const s = slots[k];
      for (let i = 0; i < w.length; i++) w[i] = updateElement(cfg, lr, iterations + 1, g[i], w[i], s, i);
    });
  });
  return { values, slots };
}

function updateElement(cfg: ReferenceConfig, lr: number, t: number, g: number, w: number, s: Slots, i: number): number {
  switch (cfg.kind) {
    case 'sgd': {
      const momentum = cfg.momentum ?? 0;
      if (momentum === 0) return w - g * lr;
      s.m[i] = s.m[i] * momentum - g * lr;
      return cfg.nesterov ? w + (s.m[i] * momentum - g * lr) : w + s.m[i];
    }
    case 'adam': {
      const b1 = cfg.beta1 ?? 0.9;
      const b2 = cfg.beta2 ?? 0.999;
      const eps = cfg.epsilon ?? 1e-7;
      const alpha = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
      s.m[i] += (g - s.m[i]) * (1 - b1);
      s.v[i] += (g * g - s.v[i]) * (1 - b2);
      let v = s.v[i];
      if (cfg.amsgrad) {
        s.vHat[i] = Math.max(s.vHat[i], s.v[i]);
        v = s.vHat[i];
      }
      return w - (s.m[i] * alpha) / (Math.sqrt(v) + eps);
    }
    case 'rmsprop': {
      const rho = cfg.rho ?? 0.9;
      const eps = cfg.epsilon ?? 1e-7;
      const momentum = cfg.momentum ?? 0;
      s.v[i] = rho * s.v[i] + (1 - rho) * g * g;
      let denominator: number;
      if (cfg.centered) {
        s.avg[i] = rho * s.avg[i] + (1 - rho) * g;
        denominator = s.v[i] - s.avg[i] ** 2 + eps;
      } else {
        denominator = s.v[i] + eps;
      }
      const increment = (lr * g) / Math.sqrt(denominator);
      if (momentum > 0) {
        s.mom[i] = momentum * s.mom[i] + increment;
        return w - s.mom[i];
      }
      return w - increment;
    }
    case 'adagrad': {
      const eps = cfg.epsilon ?? 1e-7;
      s.acc[i] += g * g;
      return w - (lr * g) / Math.sqrt(s.acc[i] + eps);
    }
  }
}
