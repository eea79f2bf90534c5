/**
 * The traffic model of the performance contract and the bandwidth roofline
 * it is held against.
 *
 * Batch norm is memory-bound, so the best time an op can reach is the bytes
 * it must move over the machine's streaming bandwidth. Per float32 element:
 *   inference 8 bytes (read x, write y),
 *   training forward 12 (read x for the statistics, read it again, write y),
 *   backward 20 (read dy and x for the two sums, read them again, write dx).
 *
 * The roofline is measured in the same run with `streamCopy` of normkit's
 * bench addon (native/bench/, kept at the ISA and thread count of the row by
 * lib/native.ts's benchBinding()), over a working set as large as the op's
 * distinct buffers, because bandwidth falls once the working set leaves the
 * last-level cache. Past
 * `backendInfo().streamThresholdBytes` the copy, like the kernels, writes
 * with streaming stores (no read-for-ownership), so the roofline there is
 * the best copy, not a plain one. A copy moves 8 bytes per float32 element
 * (read + write).
 *
 * The roofline is re-measured for every op x shape, right before that
 * group's rows, so a colleague's compile on the shared cores skews both
 * sides alike instead of one cached number for the whole run. Like STREAM,
 * it reports the best sample (each sample averages many copies): the
 * bandwidth the machine demonstrably reached, so fractions are conservative.
 */
import { measure } from './timing.js';
import type { BenchShape, Op, Timing, TimingOptions } from './types.js';

/** Bytes moved per float32 element by each op (the contract's traffic model). */
export const TRAFFIC_BYTES_PER_ELEMENT: Record<Op, number> = { infer: 8, train: 12, backward: 20 };

/** Distinct buffers an op touches, in float32 arrays of the tensor's size: x,y / x,y / dy,x,dx. */
export const WORKING_SET_ARRAYS: Record<Op, number> = { infer: 2, train: 2, backward: 3 };

export function trafficBytes(op: Op, shape: BenchShape): number {
  return TRAFFIC_BYTES_PER_ELEMENT[op] * shape.size;
}

export function workingSetBytes(op: Op, shape: BenchShape): number {
  return WORKING_SET_ARRAYS[op] * 4 * shape.size;
}

/** GB/s (1e9 bytes per second) of `bytes` moved in `ns`. */
export function gbPerSecond(bytes: number, ns: number): number {
  return bytes / ns;
}

/** A copy function `dst[i] = src[i]`, and what it is (for the report). */
export interface CopyKernel {
  name: string;
  copy(src: Float32Array, dst: Float32Array): void;
  /** Sets the thread count the copy (and the measured normkit rows) use. */
  setThreads(n: number): void;
}

/** Copy kernel used when the addon is missing: memmove through `TypedArray#set`, one thread. */
export const TYPED_ARRAY_COPY: CopyKernel = {
  name: 'TypedArray#set (memmove, 1 thread)',
  copy: (src, dst) => dst.set(src),
  setThreads: () => undefined,
};

export interface RooflinePoint {
  /** The op x shape group it was measured for. */
  group: string;
  workingSetBytes: number;
  threads: number;
  timing: Timing;
  /** Copy bandwidth: 8 bytes per element over the best sample's per-call time. */
  gbps: number;
}

/** Measures and caches the copy bandwidth per (working-set size, threads). */
export class Roofline {
  private readonly cache = new Map<string, RooflinePoint>();

  constructor(
    readonly kernel: CopyKernel,
    private readonly timing: TimingOptions,
  ) {}

  async at(group: string, bytes: number, threads: number): Promise<RooflinePoint> {
    const key = `${group}/${bytes}/${threads}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    // The copy's two arrays together are as large as the op's working set.
    const n = Math.max(1, Math.round(bytes / 8));
    const src = new Float32Array(n).fill(1);
    const dst = new Float32Array(n);
    this.kernel.setThreads(threads);
    const timing = await measure(() => this.kernel.copy(src, dst), this.timing);
    const point = { group, workingSetBytes: bytes, threads, timing, gbps: gbPerSecond(8 * n, timing.minNs) };
    this.cache.set(key, point);
    return point;
  }

  points(): RooflinePoint[] {
    return [...this.cache.values()];
  }
}
