/**
 * The only module that loads the compiled addon. Everything else in `lib/`
 * talks to native code through the {@link NativeBinding} interface below.
 *
 * The binding re-checks types, lengths and aliasing (it can be reached
 * directly), but meaning (shapes, axes, ranges) is validated in TypeScript
 * before any call lands here.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { markAsUntransferable } from 'node:worker_threads';
import nodeGypBuild from 'node-gyp-build';

/** A contiguous floating-point buffer a kernel reads or writes. */
export type FloatArray = Float32Array | Float64Array;

/** What `backendInfo()` reports about the loaded addon. */
export interface NativeBackendInfo {
  /** Instruction set the kernels dispatch to: 'scalar' | 'sse2' | 'avx2' | 'avx512' | 'neon'. */
  isa: string;
  /** Every ISA this build contains and this CPU can execute, lowest first. */
  isaAvailable: string[];
  /** Threads the kernels may use (1 = the calling thread only). */
  threads: number;
  /** The addon's own version (matches package.json). */
  version: string;
  /** Node-API version the addon was built against. */
  napiVersion: number;
  /**
   * Bytes of one channel (inputs, output and prefetch reach) up to which
   * channels-first training kernels run both passes per channel in L2: this
   * core's L2 size, or 512 KiB when the system does not report it. It changes
   * speed only, never results (native/kernels/plan.h, FusesChannels).
   */
  fuseBudgetBytes: number;
  /**
   * Working-set bytes (every array an op reads or writes) above which the
   * elementwise passes write their output with streaming (non-temporal)
   * stores, which skip the read-for-ownership of each output line: this
   * machine's last-level cache size, capped at 64 MiB. It changes speed only,
   * never results (native/kernels/plan.h, StreamsStores).
   */
  streamThresholdBytes: number;
}

/**
 * Raw entry points of the addon. All sizes are element counts; `outer`,
 * `channels`, `inner` describe the [outer, channels, inner] view
 * (see native/kernels/layout.h). Every array of one call has the same dtype.
 * Outputs are written in place; nothing is allocated on the native side.
 */
/** An opaque handle of a prepared kernel call (an external of the addon). */
export type PreparedHandle = { readonly __normkitPreparedCall: never };

export interface NativeBinding {
  channelStats(x: FloatArray, outer: number, channels: number, inner: number,
    mean: FloatArray, variance: FloatArray): void;
  batchNormTrain(x: FloatArray, outer: number, channels: number, inner: number,
    gamma: FloatArray | null, beta: FloatArray | null, epsilon: number,
    y: FloatArray, mean: FloatArray, variance: FloatArray, invStd: FloatArray): void;
  batchNormInfer(x: FloatArray, outer: number, channels: number, inner: number,
    gamma: FloatArray | null, beta: FloatArray | null, mean: FloatArray, variance: FloatArray,
    epsilon: number, y: FloatArray): void;
  batchNormBackward(dy: FloatArray, x: FloatArray, outer: number, channels: number, inner: number,
    gamma: FloatArray | null, mean: FloatArray, invStd: FloatArray, training: boolean,
    dx: FloatArray | null, dgamma: FloatArray | null, dbeta: FloatArray | null): void;
  sgdUpdate(variable: FloatArray, grad: FloatArray, velocity: FloatArray | null,
    learningRate: number, momentum: number, nesterov: boolean,
    gradScale?: number, clipValue?: number, decay?: number): void;
  adamUpdate(variable: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, vHat: FloatArray | null,
    learningRate: number, beta1: number, beta2: number, epsilon: number, step: number, amsgrad: boolean,
    gradScale?: number, clipValue?: number, decay?: number): void;
  rmspropUpdate(variable: FloatArray, grad: FloatArray, velocity: FloatArray, moment: FloatArray | null,
    averageGradient: FloatArray | null, learningRate: number, rho: number, momentum: number, epsilon: number,
    centered: boolean, gradScale?: number, clipValue?: number, decay?: number): void;
  adagradUpdate(variable: FloatArray, grad: FloatArray, accumulator: FloatArray, learningRate: number,
    epsilon: number, gradScale?: number, clipValue?: number, decay?: number): void;
  /** sum(x[i]^2) accumulated in double (the squared L2 norm for gradient clipping). */
  sumOfSquares(x: FloatArray): number;

  /** Same arguments as the sync twins; the work runs on the libuv pool. */
  channelStatsAsync(...args: Parameters<NativeBinding['channelStats']>): Promise<void>;
  batchNormTrainAsync(...args: Parameters<NativeBinding['batchNormTrain']>): Promise<void>;
  batchNormInferAsync(...args: Parameters<NativeBinding['batchNormInfer']>): Promise<void>;
  batchNormBackwardAsync(...args: Parameters<NativeBinding['batchNormBackward']>): Promise<void>;

  /**
   * Prepared calls (native/binding/prepared.h): the same arguments and checks
   * as the sync twin, once; returns a handle that runPrepared runs with no
   * argument unwrapping. The caller must check before every run that each
   * array still has its prepared length (a detached one reads 0).
   */
  prepareChannelStats(...args: Parameters<NativeBinding['channelStats']>): PreparedHandle;
  prepareBatchNormTrain(...args: Parameters<NativeBinding['batchNormTrain']>): PreparedHandle;
  prepareBatchNormInfer(...args: Parameters<NativeBinding['batchNormInfer']>): PreparedHandle;
  prepareBatchNormBackward(...args: Parameters<NativeBinding['batchNormBackward']>): PreparedHandle;
  runPrepared(handle: PreparedHandle): void;

  backendInfo(): NativeBackendInfo;
  /** Forces an ISA by name; throws RangeError when this CPU/build lacks it. */
  setIsa(name: string): void;
  /** Sets the kernel thread count (>= 1). */
  setNumThreads(n: number): void;
}

/**
 * The bench's own addon (native/bench/, never shipped): built beside the main
 * addon as `normkit_bench.addon` in a checkout, absent from prebuilds/.
 */
export interface BenchBinding {
  /** An empty call that unwraps two typed arrays, entered as the kernel exports are (the call-overhead floor). */
  noop(a: FloatArray, b: FloatArray): void;
  /** Streaming copy dst[i] = src[i] with the active ISA and threads (the bandwidth roofline). */
  streamCopy(src: FloatArray, dst: FloatArray): void;
  /** Its own kernels' state, which `native.setIsa` / `native.setNumThreads` keep equal to the main addon's. */
  backendInfo(): NativeBackendInfo;
}

/** The bench addon's exports; setIsa / setNumThreads are only called from here. */
interface RawBenchBinding extends BenchBinding {
  setIsa(name: string): void;
  setNumThreads(n: number): void;
}

const packageRoot = path.resolve(__dirname, '..');

const raw = nodeGypBuild(packageRoot) as NativeBinding;

let bench: RawBenchBinding | undefined;

/**
 * Loads the bench addon: the one built with the loaded main addon (the same
 * folder), else the checkout's build/Release one (`npm run prebuild` moves
 * normkit.node from there into prebuilds/ and leaves the bench addon). It
 * links its own copy of the kernels, so from here on its ISA and thread count
 * follow the main addon's: they are copied now, and `native.setIsa` /
 * `native.setNumThreads` set both.
 * @throws Error when there is no bench addon (an installed package).
 */
export function benchBinding(): BenchBinding {
  if (bench) return bench;
  const name = 'normkit_bench.addon';
  const beside = path.join(path.dirname(nodeGypBuild.resolve(packageRoot)), name);
  const file = [beside, path.join(packageRoot, 'build', 'Release', name)].find((f) => existsSync(f)) ?? beside;
  const module = { exports: {} as RawBenchBinding };
  try {
    process.dlopen(module, file);
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new Error(`normkit: the bench addon did not load from ${file} (${msg}); it is built with the addon in a checkout (npm run build:native)`);
  }
  const info = raw.backendInfo();
  module.exports.setIsa(info.isa);
  module.exports.setNumThreads(info.threads);
  bench = module.exports;
  return bench;
}

/**
 * An async kernel reads and writes its buffers on a libuv thread after the
 * call returns. Node-API can keep the ArrayBuffer objects alive but not their
 * memory: transferred away (`structuredClone(buf, { transfer })`,
 * `postMessage`) and collected under its new owner, the memory would be freed
 * while the kernel uses it. Marking the buffers untransferable first makes a
 * later transfer copy instead of move, so the memory the kernel holds stays
 * owned by the original, referenced ArrayBuffer. (SharedArrayBuffers are
 * reference-counted and never move.)
 */
function pinned<A extends unknown[]>(call: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return (...args: A) => {
    for (const a of args) {
      if (ArrayBuffer.isView(a) && a.buffer instanceof ArrayBuffer) markAsUntransferable(a.buffer);
    }
    return call(...args);
  };
}

/**
 * The loaded addon (prebuilt binary when one matches, else build/Release),
 * async entry points pinned, ISA and thread count shared with the bench addon
 * once that is loaded.
 */
export const native: NativeBinding = {
  ...raw,
  setIsa: (name) => {
    raw.setIsa(name);
    bench?.setIsa(name);
  },
  setNumThreads: (n) => {
    raw.setNumThreads(n);
    bench?.setNumThreads(n);
  },
  channelStatsAsync: pinned(raw.channelStatsAsync),
  batchNormTrainAsync: pinned(raw.batchNormTrainAsync),
  batchNormInferAsync: pinned(raw.batchNormInferAsync),
  batchNormBackwardAsync: pinned(raw.batchNormBackwardAsync),
};
