/**
 * normkit, measured three ways at the thread counts of the bench:
 *   - `binding`: the raw Node-API entry points of lib/native.ts, with no
 *     TypeScript validation in front — the floor of the kernel API;
 *   - `kernels`: the public zero-allocation kernel API (`nk.kernels.*`) with
 *     preallocated `out` buffers — what a service would call, and the row
 *     every speedup is computed from;
 *   - `prepared`: the same calls prepared once (`nk.kernels.prepare...`), then
 *     `run()` per sample: every check done at prepare, no argument
 *     unwrapping per call — what a service loop with fixed buffers would use;
 *   - `layer`: `new nk.layers.BatchNormalization(...).apply(x, {training, out})`,
 *     and the backward as `GradientTape.gradient` on a persistent tape
 *     recorded once (only the gradient call is timed; see layerImpl for
 *     how the upstream gradient dy gets in).
 *
 * The addon is loaded lazily: until build/Release/normkit.node exists the
 * bench runs the peers alone and says so.
 */
import type { BenchShape, CaseData, Impl, ImplLoader, Op, Outputs, Runner, Unsupported } from '../core/types.js';

type NormkitModule = typeof import('../../lib/index.js');
type NativeModule = typeof import('../../lib/native.js');
export type NativeBinding = NativeModule['native'];

export interface LoadedNormkit {
  nk: NormkitModule;
  native: NativeBinding;
}

let loaded: Promise<LoadedNormkit | Unsupported> | undefined;

/**
 * The compiled package (`dist/`, what `npm install normkit` gives a user),
 * not lib/ through tsx: tsx turns every call across lib/'s files into a
 * getter call, which would charge the per-call overhead of the module
 * layout to normkit's timings. `npm run bench` builds dist/ first.
 */
export function normkitModules(): { nk: NormkitModule; nativeModule: NativeModule } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return { nk: require('../../dist/index.js') as NormkitModule, nativeModule: require('../../dist/native.js') as NativeModule };
}

/** Loads dist/ (and so the addon) once; a missing build or addon becomes a reason, not a crash. */
export function loadNormkit(): Promise<LoadedNormkit | Unsupported> {
  loaded ??= (async () => {
    try {
      const { nk, nativeModule } = normkitModules();
      return { nk, native: nativeModule.native };
    } catch (e) {
      const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
      return { unsupported: `normkit addon not loadable (${msg}); build it with \`npm run build:native && npm run build:ts\`` };
    }
  })();
  return loaded;
}

function copyOf(a: Float32Array | Float64Array): Float32Array {
  return Float32Array.from(a);
}

function bindingImpl(n: NativeBinding, threads: number): Impl {
  return {
    id: `normkit-binding-${threads}t`,
    peer: 'normkit',
    label: 'normkit native binding (raw)',
    threads,
    isNormkit: true,
    supports: () => true,
    async prepare(op: Op, d: CaseData): Promise<Runner> {
      n.setNumThreads(threads);
      const { outer, channels: C, inner, size } = d.shape;
      const y = new Float32Array(size);
      const mean = new Float32Array(C);
      const variance = new Float32Array(C);
      const invStd = new Float32Array(C);
      if (op === 'infer') {
        return {
          run: () => n.batchNormInfer(d.x, outer, C, inner, d.gamma, d.beta, d.movingMean, d.movingVariance, d.epsilon, y),
          outputs: () => ({ y }),
        };
      }
      if (op === 'train') {
        return {
          run: () => n.batchNormTrain(d.x, outer, C, inner, d.gamma, d.beta, d.epsilon, y, mean, variance, invStd),
          outputs: () => ({ y, mean, variance }),
        };
      }
      n.batchNormTrain(d.x, outer, C, inner, d.gamma, d.beta, d.epsilon, y, mean, variance, invStd);
      const dx = new Float32Array(size);
      const dgamma = new Float32Array(C);
      const dbeta = new Float32Array(C);
      return {
        run: () => n.batchNormBackward(d.dy, d.x, outer, C, inner, d.gamma, mean, invStd, true, dx, dgamma, dbeta),
        outputs: () => ({ dx, dgamma, dbeta }),
      };
    },
  };
}

function kernelsImpl({ nk, native }: LoadedNormkit, threads: number): Impl {
  return {
    id: `normkit-kernels-${threads}t`,
    peer: 'normkit',
    label: 'normkit kernels API (out buffers)',
    threads,
    isNormkit: true,
    supports: () => true,
    async prepare(op: Op, d: CaseData): Promise<Runner> {
      native.setNumThreads(threads);
      const { channels: C, size } = d.shape;
      // A layout object built once, as a service would keep it.
      const layout = { outer: d.shape.outer, channels: C, inner: d.shape.inner };
      const train = {
        gamma: d.gamma,
        beta: d.beta,
        epsilon: d.epsilon,
        out: { y: new Float32Array(size), mean: new Float32Array(C), variance: new Float32Array(C), invStd: new Float32Array(C) },
      };
      if (op === 'infer') {
        const opts = { mean: d.movingMean, variance: d.movingVariance, gamma: d.gamma, beta: d.beta, epsilon: d.epsilon, out: new Float32Array(size) };
        return {
          run: () => void nk.kernels.batchNormInfer(d.x, layout, opts),
          outputs: () => ({ y: opts.out }),
        };
      }
      if (op === 'train') {
        return {
          run: () => void nk.kernels.batchNormTrain(d.x, layout, train),
          outputs: () => ({ y: train.out.y, mean: train.out.mean, variance: train.out.variance }),
        };
      }
      const f = nk.kernels.batchNormTrain(d.x, layout, train);
      const opts = {
        mean: f.mean,
        invStd: f.invStd,
        gamma: d.gamma,
        training: true,
        out: { dx: new Float32Array(size), dgamma: new Float32Array(C), dbeta: new Float32Array(C) },
      };
      return {
        run: () => void nk.kernels.batchNormBackward(d.dy, d.x, layout, opts),
        outputs: () => ({ dx: opts.out.dx, dgamma: opts.out.dgamma, dbeta: opts.out.dbeta }),
      };
    },
  };
}

function preparedImpl({ nk, native }: LoadedNormkit, threads: number): Impl {
  return {
    id: `normkit-prepared-${threads}t`,
    peer: 'normkit',
    label: 'normkit kernels API, prepared calls',
    threads,
    isNormkit: true,
    supports: () => true,
    async prepare(op: Op, d: CaseData): Promise<Runner> {
      native.setNumThreads(threads);
      const layout = { outer: d.shape.outer, channels: d.shape.channels, inner: d.shape.inner };
      if (op === 'infer') {
        const p = nk.kernels.prepareBatchNormInfer(d.x, layout, { mean: d.movingMean, variance: d.movingVariance, gamma: d.gamma, beta: d.beta, epsilon: d.epsilon });
        return { run: () => void p.run(), outputs: () => ({ y: p.outputs as Float32Array }) };
      }
      const train = nk.kernels.prepareBatchNormTrain(d.x, layout, { gamma: d.gamma, beta: d.beta, epsilon: d.epsilon });
      if (op === 'train') {
        const o = train.outputs as { y: Float32Array; mean: Float32Array; variance: Float32Array };
        return { run: () => void train.run(), outputs: () => ({ y: o.y, mean: o.mean, variance: o.variance }) };
      }
      const f = train.run();
      const p = nk.kernels.prepareBatchNormBackward(d.dy, d.x, layout, { mean: f.mean, invStd: f.invStd, gamma: d.gamma, training: true });
      const o = p.outputs as { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array };
      return { run: () => void p.run(), outputs: () => ({ dx: o.dx, dgamma: o.dgamma, dbeta: o.dbeta }) };
    },
  };
}

function layerImpl({ nk, native }: LoadedNormkit, threads: number): Impl {
  return {
    id: `normkit-layer-${threads}t`,
    peer: 'normkit',
    label: 'normkit layers.BatchNormalization',
    threads,
    isNormkit: true,
    supports: () => true,
    async prepare(op: Op, d: CaseData): Promise<Runner> {
      native.setNumThreads(threads);
      const s: BenchShape = d.shape;
      const layer = new nk.layers.BatchNormalization({ axis: s.axis, epsilon: d.epsilon });
      const x = new nk.Tensor(d.x, s.shape);
      layer.apply(x); // builds the layer so that its weights exist
      layer.setWeights([
        new nk.Tensor(d.gamma, [s.channels]),
        new nk.Tensor(d.beta, [s.channels]),
        new nk.Tensor(d.movingMean, [s.channels]),
        new nk.Tensor(d.movingVariance, [s.channels]),
      ]);
      if (op === 'infer' || op === 'train') {
        const training = op === 'train';
        // `out`: the layer writes into a preallocated output, as a service loop
        // would (issue 3: no page faults in steady state); without it every call
        // allocates a fresh output tensor.
        const out = new nk.Tensor(new Float32Array(s.size), s.shape);
        let y: InstanceType<NormkitModule['Tensor']> | undefined;
        return {
          run: () => {
            y = layer.apply(x, { training, out });
          },
          note: 'apply(x, { training, out })',
          outputs: (): Outputs => (y === undefined ? {} : { y: copyOf(y.data) }),
        };
      }
      const dy = new nk.Tensor(d.dy, s.shape);
      const gamma = layer.gamma;
      const beta = layer.beta;
      if (gamma === null || beta === null) throw new Error('normkit layer built without gamma/beta');
      const sources = [x, gamma, beta] as const;
      // Preferred: seed the gradient with dy itself (TensorFlow's
      // `output_gradients`), so only the layer's backward runs. The option is
      // used only if this build of the tape honours it (dbeta must then be
      // the per-channel sum of dy); otherwise the loss is sum(y * dy), whose
      // mul/sum backward then counts in the time too.
      const seeded = new nk.GradientTape({ persistent: true });
      seeded.watch(x);
      const y = seeded.record(() => layer.apply(x, { training: true }));
      const seedOptions = { outputGradients: dy } as Parameters<typeof seeded.gradient>[2];
      const probe = seeded.gradient(y, [...sources], seedOptions);
      const useSeed = honoursSeed(probe[2]?.data, d);
      const tape = useSeed ? seeded : new nk.GradientTape({ persistent: true });
      let target = y;
      if (!useSeed) {
        tape.watch(x);
        target = tape.record(() => nk.sum(nk.mul(layer.apply(x, { training: true }), dy)));
      }
      const options = useSeed ? seedOptions : undefined;
      let grads: ReturnType<typeof tape.gradient> | undefined;
      return {
        run: () => {
          grads = tape.gradient(target, [...sources], options);
        },
        note: useSeed ? 'tape.gradient seeded with dy' : 'tape.gradient of sum(y*dy): includes the mul/sum backward',
        outputs: (): Outputs => {
          if (!Array.isArray(grads)) return {};
          const [dx, dgamma, dbeta] = grads;
          return {
            ...(dx ? { dx: copyOf(dx.data) } : {}),
            ...(dgamma ? { dgamma: copyOf(dgamma.data) } : {}),
            ...(dbeta ? { dbeta: copyOf(dbeta.data) } : {}),
          };
        },
      };
    },
  };
}

/** True when `dbeta` is the per-channel sum of `d.dy` (a seeded gradient), not of ones. */
function honoursSeed(dbeta: Float32Array | Float64Array | undefined, d: CaseData): boolean {
  if (dbeta === undefined) return false;
  const { outer, channels: C, inner } = d.shape;
  const sums = new Float64Array(C);
  for (let o = 0; o < outer; o++) for (let c = 0; c < C; c++) for (let i = 0; i < inner; i++) sums[c] += d.dy[(o * C + c) * inner + i];
  return sums.every((v, c) => Math.abs(v - dbeta[c]) <= 1e-3 * (Math.abs(v) + 1));
}

/** Every normkit row of the bench (see the module comment). */
export const loadNormkitImpls: ImplLoader = async () => {
  const l = await loadNormkit();
  if ('unsupported' in l) return l;
  return [
    bindingImpl(l.native, 1),
    kernelsImpl(l, 1),
    kernelsImpl(l, 2),
    preparedImpl(l, 1),
    layerImpl(l, 1),
  ];
};

/** Id of the row every peer is compared with (issue 3's targets are one thread). */
export const NORMKIT_REFERENCE_ID = 'normkit-kernels-1t';
