/**
 * onnxruntime-node: its CPU BatchNormalization kernel, run as a one-node
 * model built in code (peers/onnx-model.ts). ONNX batch norm is
 * channels-first only ([N, C, ...]), so it runs the channels-first shapes
 * and the rank-2 [N, C] ones (where the two layouts coincide); channels-last
 * 4-D input would need two transposes around it, which is a different
 * benchmark. It has no backward op.
 *
 * Inference feeds the moving statistics; `training_mode = 1` computes batch
 * statistics and, with momentum 0, returns them exactly as its
 * running_mean / running_var outputs (biased variance, by the ONNX spec),
 * which the accuracy report uses.
 *
 * One intra-op thread, as issue 3's targets are one-thread numbers; outputs
 * are preallocated fetches (ORT's fastest way to call, as normkit's kernel
 * rows get preallocated `out` buffers).
 * `session.run` returns a promise (the bench awaits each call), but it does
 * the work synchronously on the calling thread.
 */
import type { BenchShape, CaseData, Impl, ImplLoader, Op, Runner } from '../core/types.js';
import { batchNormModel, BN_OUTPUTS_TRAIN } from './onnx-model.js';

interface OrtTensor {
  data: Float32Array;
  dims: readonly number[];
  dispose?(): void;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  env: { versions?: { node?: string } };
}

async function importPeer<T>(spec: string): Promise<T> {
  return (await import(spec)) as T;
}

let ortLoaded: Promise<OrtModule | { unsupported: string }> | undefined;

export function loadOrt(): NonNullable<typeof ortLoaded> {
  ortLoaded ??= (async () => {
    try {
      const m = await importPeer<OrtModule & { default?: OrtModule }>('onnxruntime-node');
      return m.InferenceSession ? m : (m.default as OrtModule);
    } catch (e) {
      return {
        unsupported: `onnxruntime-node not installed in bench/ (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); run \`cd bench && npm ci\``,
      };
    }
  })();
  return ortLoaded;
}

export const ORT_SESSION_OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

/** Creates a session and its feeds for the shape; momentum 0 makes running_* the batch statistics. */
export async function ortBatchNorm(
  ort: OrtModule,
  d: CaseData,
  trainingMode: boolean,
): Promise<{ session: OrtSession; feeds: Record<string, OrtTensor> }> {
  const s = d.shape;
  const model = batchNormModel({ shape: s.shape, epsilon: d.epsilon, momentum: 0, trainingMode });
  const session = await ort.InferenceSession.create(model, ORT_SESSION_OPTIONS);
  const c = [s.channels];
  const feeds = {
    X: new ort.Tensor('float32', d.x, s.shape),
    scale: new ort.Tensor('float32', d.gamma, c),
    B: new ort.Tensor('float32', d.beta, c),
    input_mean: new ort.Tensor('float32', d.movingMean, c),
    input_var: new ort.Tensor('float32', d.movingVariance, c),
  };
  return { session, feeds };
}

/** ONNX puts channels on axis 1: channels-first shapes, and rank 2 where both layouts agree. */
export function ortSupportsShape(s: BenchShape): boolean {
  return s.shape.length === 2 || s.layout === 'channels-first';
}

function ortImpl(ort: OrtModule): Impl {
  return {
    id: 'onnxruntime',
    peer: 'onnxruntime',
    label: 'onnxruntime-node BatchNormalization',
    threads: 1,
    isNormkit: false,
    supports(op: Op, s: BenchShape) {
      if (op === 'backward') return { unsupported: 'no backward op' };
      if (!ortSupportsShape(s)) return { unsupported: 'channels-first only' };
      return true;
    },
    async prepare(op: Op, d: CaseData): Promise<Runner> {
      const { session, feeds } = await ortBatchNorm(ort, d, op === 'train');
      // Preallocated outputs, as normkit's kernel rows get: ORT writes into them.
      const c = [d.shape.channels];
      const fetches: Record<string, OrtTensor> = { Y: new ort.Tensor('float32', new Float32Array(d.shape.size), d.shape.shape) };
      if (op === 'train') {
        fetches.running_mean = new ort.Tensor('float32', new Float32Array(d.shape.channels), c);
        fetches.running_var = new ort.Tensor('float32', new Float32Array(d.shape.channels), c);
      }
      let out: Record<string, OrtTensor> = {};
      return {
        run: async () => {
          out = await session.run(feeds, fetches);
        },
        outputs: () =>
          op === 'train'
            ? { y: out.Y.data, mean: out[BN_OUTPUTS_TRAIN[1]].data, variance: out[BN_OUTPUTS_TRAIN[2]].data }
            : { y: out.Y.data },
        dispose: () => session.release(),
      };
    },
  };
}

export const loadOrtImpls: ImplLoader = async () => {
  const l = await loadOrt();
  if ('unsupported' in l) return l;
  return [ortImpl(l)];
};

export async function ortVersion(): Promise<string | undefined> {
  const l = await loadOrt();
  return 'unsupported' in l ? undefined : l.env.versions?.node;
}
