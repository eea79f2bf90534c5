/**
 * TensorFlow.js 4.x, the peer a Node user reaches for first: its Keras-shaped
 * `tf.layers.batchNormalization` on the `cpu` backend (plain JS kernels) and
 * on the `wasm` backend (XNNPACK + SIMD, single-threaded: its worker threads
 * cannot start under Node).
 *
 * The layer API is the like-for-like peer of normkit's layer and the one
 * issue 3 reports on (including its wrong results with `axis=1`, which the
 * correctness gate checks rather than assumes).
 *
 * Backward: tfjs has no standalone batch-norm backward, so the gradient of
 * `sum(y * dy)` is taken with `tf.variableGrads`, which runs the forward
 * inside; the bench subtracts the median of that forward
 * (`subtractForward`), leaving the backward alone.
 *
 * Modules are loaded by computed specifier, so the repository's typecheck
 * does not need bench/node_modules; the small interfaces below are the part
 * of the tfjs API this file uses.
 */
import * as path from 'node:path';
import type { BenchShape, CaseData, Impl, ImplLoader, Op, Runner } from '../core/types.js';

interface TfTensor {
  shape: number[];
  dataSync(): Float32Array | Int32Array | Uint8Array;
  dispose(): void;
}
interface TfVariable extends TfTensor {
  name: string;
}
interface TfCore {
  setBackend(name: string): Promise<boolean>;
  getBackend(): string;
  ready(): Promise<void>;
  enableProdMode(): void;
  tensor(values: Float32Array, shape: readonly number[]): TfTensor;
  variable(t: TfTensor, trainable?: boolean, name?: string): TfVariable;
  tidy<T>(fn: () => T): T;
  sum(x: TfTensor): TfTensor;
  mul(a: TfTensor, b: TfTensor): TfTensor;
  variableGrads(f: () => TfTensor, varList?: TfVariable[]): { value: TfTensor; grads: Record<string, TfTensor> };
  memory(): { numTensors: number };
  moments(x: TfTensor, axes: number[]): { mean: TfTensor; variance: TfTensor };
  version_core?: string;
}
interface TfLayerVariable {
  read(): TfVariable;
}
interface TfLayer {
  apply(x: TfTensor, kwargs?: { training?: boolean }): TfTensor;
  setWeights(w: TfTensor[]): void;
  trainableWeights: TfLayerVariable[];
  dispose(): void;
}
interface TfLayersModule {
  layers: { batchNormalization(cfg: { axis: number; epsilon: number; momentum?: number }): TfLayer };
  version_layers?: string;
}
interface TfWasmModule {
  setWasmPaths(prefix: string): void;
  getThreadsCount(): number;
}

/** Loads a bench peer by a specifier the repository's typecheck does not follow. */
async function importPeer<T>(spec: string): Promise<T> {
  return (await import(spec)) as T;
}

let tfLoaded: Promise<{ tf: TfCore; tfl: TfLayersModule; wasm: TfWasmModule } | { unsupported: string }> | undefined;

function loadTf(): NonNullable<typeof tfLoaded> {
  tfLoaded ??= (async () => {
    try {
      const tf = await importPeer<TfCore>('@tensorflow/tfjs-core');
      await importPeer<unknown>('@tensorflow/tfjs-backend-cpu');
      const wasm = await importPeer<TfWasmModule>('@tensorflow/tfjs-backend-wasm');
      const tfl = await importPeer<TfLayersModule>('@tensorflow/tfjs-layers');
      // Production mode: no debug checks, no "install tfjs-node" banner.
      tf.enableProdMode();
      // Under Node the .wasm files are read from the package directory.
      const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
      wasm.setWasmPaths(wasmDir + path.sep);
      return { tf, tfl, wasm };
    } catch (e) {
      return { unsupported: `TensorFlow.js not installed in bench/ (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); run \`cd bench && npm ci\`` };
    }
  })();
  return tfLoaded;
}

function f32(t: TfTensor): Float32Array {
  return Float32Array.from(t.dataSync());
}

function tfjsImpl(tf: TfCore, tfl: TfLayersModule, backend: 'cpu' | 'wasm'): Impl {
  return {
    id: `tfjs-${backend}`,
    peer: `tfjs-${backend}`,
    label: `TensorFlow.js ${backend} layers.batchNormalization`,
    threads: 1,
    isNormkit: false,
    supports: () => true,
    async prepare(op: Op, d: CaseData): Promise<Runner> {
      if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' failed to initialize`);
      await tf.ready();
      const s = d.shape;
      const layer = tfl.layers.batchNormalization({ axis: s.axis, epsilon: d.epsilon });
      const x = tf.tensor(d.x, s.shape);
      layer.apply(x).dispose(); // builds the layer so that setWeights has weights to set
      const weights = [d.gamma, d.beta, d.movingMean, d.movingVariance].map((w) => tf.tensor(w, [s.channels]));
      layer.setWeights(weights);
      weights.forEach((w) => w.dispose());
      const owned: TfTensor[] = [x];
      let last: TfTensor[] = [];
      const keep = (ts: TfTensor[]): void => {
        last.forEach((t) => t.dispose());
        last = ts;
      };
      const dispose = (): void => {
        keep([]);
        owned.forEach((t) => t.dispose());
        layer.dispose();
      };
      if (op === 'infer' || op === 'train') {
        const training = op === 'train';
        return {
          run: () => keep([tf.tidy(() => layer.apply(x, { training }))]),
          outputs: () => ({ y: f32(last[0]) }),
          dispose,
        };
      }
      const dy = tf.tensor(d.dy, s.shape);
      const xv = tf.variable(x, true);
      owned.push(dy, xv);
      const gammaVar = layer.trainableWeights[0].read();
      const betaVar = layer.trainableWeights[1].read();
      const loss = (): TfTensor => tf.sum(tf.mul(layer.apply(xv, { training: true }), dy));
      return {
        run: () => {
          const { value, grads } = tf.variableGrads(loss, [xv, gammaVar, betaVar]);
          keep([value, grads[xv.name], grads[gammaVar.name], grads[betaVar.name]]);
        },
        subtractForward: () => keep([tf.tidy(loss)]),
        outputs: () => ({ dx: f32(last[1]), dgamma: f32(last[2]), dbeta: f32(last[3]) }),
        dispose,
      };
    },
  };
}

export const loadTfjsImpls: ImplLoader = async () => {
  const l = await loadTf();
  if ('unsupported' in l) return l;
  return [tfjsImpl(l.tf, l.tfl, 'cpu'), tfjsImpl(l.tf, l.tfl, 'wasm')];
};

/** Versions for the machine line. */
export async function tfjsVersion(): Promise<string | undefined> {
  const l = await loadTf();
  return 'unsupported' in l ? undefined : l.tf.version_core;
}

/** Channel statistics by `tf.moments` on a backend (what the tfjs layer uses in training). */
export type TfStatsFn = (backend: 'cpu' | 'wasm', x: Float32Array, s: BenchShape) => Promise<{ mean: Float32Array; variance: Float32Array }>;

export async function loadTfStats(): Promise<TfStatsFn | undefined> {
  const l = await loadTf();
  if ('unsupported' in l) return undefined;
  const { tf } = l;
  return async (backend, x, s) => {
    await tf.setBackend(backend);
    const a = s.axis < 0 ? s.shape.length + s.axis : s.axis;
    const axes = s.shape.map((_, i) => i).filter((i) => i !== a);
    const xt = tf.tensor(x, s.shape);
    const { mean, variance } = tf.moments(xt, axes);
    const out = { mean: f32(mean), variance: f32(variance) };
    [xt, mean, variance].forEach((t) => t.dispose());
    return out;
  };
}
