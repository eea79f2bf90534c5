import { rangeError, typeError } from './core/errors.js';
import { native, type NativeBackendInfo } from './native.js';

/** What the native backend runs with. */
export type BackendInfo = NativeBackendInfo;

/**
 * Reports the loaded addon: the instruction set its kernels dispatch to, the
 * ones available, the thread count, its version and Node-API version.
 * @example
 * nk.backendInfo(); // { isa: 'avx512', isaAvailable: ['scalar', 'sse2', 'avx2', 'avx512'], threads: 2, ... }
 */
export function backendInfo(): BackendInfo {
  return native.backendInfo();
}

/**
 * Sets how many threads the kernels may use (1 = the calling thread only).
 * Results are bit-identical for every thread count.
 * @throws {RangeError} unless `n` is an integer in [1, 256]
 */
export function setNumThreads(n: number): void {
  if (typeof n !== 'number') throw typeError('setNumThreads', 'n as a number', n);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw rangeError('setNumThreads', 'an integer in [1, 256]', n);
  native.setNumThreads(n);
}

/**
 * Forces the kernels onto an instruction set ('scalar', 'sse2', 'avx2',
 * 'avx512', 'neon'), e.g. to compare paths; `NORMKIT_ISA` does the same at load.
 * @throws {RangeError} when this CPU or build does not have it
 */
export function setIsa(name: string): void {
  if (typeof name !== 'string') throw typeError('setIsa', 'name as a string', name);
  const available = native.backendInfo().isaAvailable;
  if (!available.includes(name)) throw rangeError('setIsa', `one of ${available.join(', ')}`, name);
  native.setIsa(name);
}
