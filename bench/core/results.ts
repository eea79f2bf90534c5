/** The shape of what a run produces (rows of the tables, JSON, chart, targets). */
import type { AccuracyRow } from '../accuracy.js';
import type { GateResult } from './reference.js';
import type { MachineInfo } from './machine.js';
import type { Layout, Op, Timing, TimingOptions } from './types.js';

export type RowStatus = 'ok' | 'wrong' | 'error' | 'unsupported' | 'skipped';

export interface ResultRow {
  op: Op;
  shape: string;
  layout: Layout;
  /** `C-last`, `C-first`, `NC`. */
  layoutTag: string;
  elements: number;
  impl: string;
  peer: string;
  label: string;
  threads: number;
  isNormkit: boolean;
  /**
   * ok: passed the correctness gate and timed; wrong: timed, but failed the
   * gate (numbers shown, marked); error: threw; unsupported / skipped: not run.
   */
  status: RowStatus;
  reason?: string;
  gate?: GateResult;
  timing?: Timing;
  /** For tape-based peers: the forward time subtracted from the gradient call (see Runner.subtractForward). */
  forwardSubtractedNs?: number;
  /** The time the row reports (median, after any subtraction). */
  ns?: number;
  trafficBytes: number;
  workingSetBytes: number;
  gbps?: number;
  rooflineGbps?: number;
  rooflineFraction?: number;
  /** The adapter's remark on what was measured. */
  note?: string;
  /** Peer rows: this row's time over normkit's kernel-API 1-thread time (how many times faster normkit is). */
  normkitSpeedup?: number;
  /** normkit rows at >1 thread: the 1-thread time of the same API over this one. */
  threadScaling?: number;
}

export interface CallOverhead {
  /** Empty Node-API call that unwraps two typed arrays (`native.noop`). */
  noop: Timing;
  /** `nk.kernels.batchNormTrain` on the tiny shape with `out` buffers, and its Async twin (libuv round trip). */
  syncTrain?: Timing;
  asyncTrain?: Timing;
}

export interface TargetCheck {
  target: string;
  met: boolean | null;
  detail: string;
}

export interface RunResults {
  command: string;
  quick: boolean;
  machine: MachineInfo;
  timingOptions: TimingOptions;
  roofline: { kernel: string; points: { group: string; workingSetBytes: number; threads: number; gbps: number; minNs: number; medianNs: number }[] };
  unavailable: Record<string, string>;
  callOverhead?: CallOverhead;
  rows: ResultRow[];
  accuracy: AccuracyRow[];
  targets: TargetCheck[];
}
