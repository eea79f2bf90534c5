/**
 * The vocabulary every part of the bench shares: ops, shapes, case data,
 * and the adapter interface each implementation (normkit or a peer) fills.
 */

/** The three ops of the performance contract (DESIGN.md). */
export type Op = 'infer' | 'train' | 'backward';
export const OPS: readonly Op[] = ['infer', 'train', 'backward'];

export type Layout = 'channels-last' | 'channels-first';

/** A benchmark shape and its [outer, channels, inner] view (native/kernels/layout.h). */
export interface BenchShape {
  shape: readonly number[];
  /** Keras axis of the channel: -1 (channels-last) or 1 (channels-first). */
  axis: -1 | 1;
  layout: Layout;
  outer: number;
  channels: number;
  inner: number;
  /** Element count. */
  size: number;
  /** `[32,28,28,128]` — how rows, filters and the chart name the shape. */
  label: string;
}

/**
 * Inputs of one op x shape, shared by every implementation so that all of
 * them see the same numbers (and the correctness gate one reference).
 */
export interface CaseData {
  shape: BenchShape;
  x: Float32Array;
  /** Upstream gradient for the backward op. */
  dy: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  /** Statistics used by inference (the layer's moving statistics). */
  movingMean: Float32Array;
  movingVariance: Float32Array;
  epsilon: number;
}

/** What an implementation produced, for the correctness gate. Absent = not exposed. */
export interface Outputs {
  y?: Float32Array;
  mean?: Float32Array;
  variance?: Float32Array;
  dx?: Float32Array;
  dgamma?: Float32Array;
  dbeta?: Float32Array;
}

/** Timing summary of one row; all times in nanoseconds per call. */
export interface Timing {
  medianNs: number;
  p10Ns: number;
  p90Ns: number;
  /** Fastest sample (per call). */
  minNs: number;
  /** Median absolute deviation of the per-sample times. */
  madNs: number;
  samples: number;
  itersPerSample: number;
}

/** Knobs of {@link measure} (core/timing.ts); the same numbers go to the PyTorch subprocess. */
export interface TimingOptions {
  warmupMs: number;
  /** Wall-clock budget for the timed samples of one row. */
  budgetMs: number;
  minSamples: number;
  maxSamples: number;
  /** Each sample lasts at least this long, so clock resolution and call overhead of the timer vanish. */
  minSampleMs: number;
}

/** A prepared op x shape for one implementation: buffers allocated, weights set. */
export interface Runner {
  /** One call of the op. May return a promise (onnxruntime's `run`). */
  run(): void | Promise<void>;
  /** Outputs of the last run (the gate calls `run` once first). */
  outputs(): Outputs | Promise<Outputs>;
  /**
   * For implementations that cannot run backward alone (a tape-based
   * framework recomputes the forward inside its gradient call): the time of
   * the forward part, subtracted from the measured time. See peers/tfjs.ts.
   */
  subtractForward?: () => void | Promise<void>;
  /** What this row measures when the adapter had to choose (shown in the note column). */
  note?: string;
  /** Implementations that time themselves (the PyTorch subprocess). */
  selfTimed?: (opts: TimingOptions) => Promise<Timing>;
  dispose?(): void | Promise<void>;
}

/** Why a combination is not run; shown in the table instead of numbers. */
export type Unsupported = { unsupported: string };

/** One implementation: normkit through one API at one thread count, or a peer. */
export interface Impl {
  /** Stable id used by `--peer` filters and JSON (`normkit-kernels-1t`, `tfjs-wasm`). */
  id: string;
  /** Family for speedup columns and the chart legend (`normkit`, `tfjs-cpu`, ...). */
  peer: string;
  /** Human label (`normkit kernels.batchNormTrain`). */
  label: string;
  threads: number;
  /** normkit rows are the subject; peers are what the speedup is measured against. */
  isNormkit: boolean;
  supports(op: Op, shape: BenchShape): true | Unsupported;
  prepare(op: Op, data: CaseData): Promise<Runner>;
}

/** Loads an implementation family; missing peers return a reason instead. */
export type ImplLoader = () => Promise<Impl[] | Unsupported>;
