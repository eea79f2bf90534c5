/**
 * Tensor memory that is reused: the storage pool, `tidy` scopes, `keep`,
 * `dispose` and `memory()` (the TensorFlow.js convention).
 *
 * ## Storage
 * Buffers of more than {@link POOLED_MIN_BYTES} come from a pool of
 * size classes (four per power of two: 1, 1.25, 1.5 and 1.75 times 2^k
 * bytes, so at most 25% of a buffer is slack). A fresh `new Float32Array(n)`
 * of a few MB costs a page fault per 4 KiB on its first write (the train
 * kernel runs 3.6x slower into fresh pages than into reused ones); a pooled
 * buffer was written before and its pages are mapped. Storage goes back to
 * the pool only when the tensors on it are disposed (explicitly or by
 * `tidy`); without `dispose` or `tidy` nothing is pooled and the garbage
 * collector frees tensors as it always did. Smaller buffers are views on
 * shared slabs or on V8's heap (lib/core/dtype.ts) and are left to the GC.
 *
 * Every pooled buffer has an owner count: the live (not disposed) tensors
 * on it, since several tensors can share one buffer (a reshape does). It
 * returns to the pool when the count drops to zero. The pool holds at most
 * {@link setMemoryPoolLimit} bytes (default 1 GiB, or
 * `NORMKIT_POOL_MAX_BYTES`); a buffer released past the limit is left to
 * the GC. A buffer that was transferred away (detached) is never pooled.
 *
 * ## Holds
 * A gradient tape that still needs a tensor holds it ({@link holdTensor});
 * `dispose()` of a held tensor (or the end of the `tidy` that created it)
 * only marks it, and the tensor is disposed when the last hold is released
 * ({@link releaseTensor}). So a tensor is never recycled under a tape.
 *
 * ## Scopes
 * `tidy(fn)` opens a scope; every tensor created while it is open is
 * recorded in it. When `fn` returns, each recorded tensor is disposed
 * unless it is in what `fn` returned (tensors, or arrays and plain objects
 * of them, at any depth), was kept with {@link keep}, or is the value of a
 * variable. Returned tensors move to the enclosing scope, so an outer
 * `tidy` still disposes them. `fn` must be synchronous: a function
 * returning a Promise is refused (its tensors are then left to the GC,
 * since the async work may still read them).
 */
import { NormkitTypeError, rangeError, typeError } from './errors.js';

/** Buffers above this many bytes come from the pool (smaller ones: dtype.ts's slabs). */
export const POOLED_MIN_BYTES = 2048;

/** What a tensor exposes to the scopes (implemented by Tensor; no import cycle). */
export interface ScopedTensor {
  readonly isDisposed: boolean;
  /** @internal */ _kept: boolean;
  dispose(): void;
}

// ---------------------------------------------------------------- the pool

const owners = new WeakMap<ArrayBuffer, number>();
const free = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;
let pooledBuffers = 0;
let poolLimit = readLimit();
let liveTensors = 0;
let liveBytes = 0;
const collected = new FinalizationRegistry<number>((bytes) => {
  liveTensors--;
  liveBytes -= bytes;
});

function readLimit(): number {
  const env = process.env.NORMKIT_POOL_MAX_BYTES;
  if (env === undefined || env === '') return 2 ** 30;
  const v = Number(env);
  return Number.isSafeInteger(v) && v >= 0 ? v : 2 ** 30;
}

/**
 * The size class of a buffer of `bytes`: the smallest of 2^k, 1.25*2^k,
 * 1.5*2^k, 1.75*2^k bytes that holds it (a multiple of 64 bytes).
 * @param bytes requested size
 * @returns the class's size in bytes
 * @example
 * sizeClass(5000); // 5120 (1.25 * 4096)
 */
export function sizeClass(bytes: number): number {
  let base = 4096;
  while (base * 2 <= bytes) base *= 2;
  if (bytes <= base) return base;
  const step = base / 4;
  return base + Math.ceil((bytes - base) / step) * step;
}

/**
 * A pooled buffer of at least `bytes` (recycled when one of its class is
 * free, else new), registered with owner count 0. Contents unspecified.
 * @internal
 */
export function takeBuffer(bytes: number): ArrayBuffer {
  const cls = sizeClass(bytes);
  const list = free.get(cls);
  let buf: ArrayBuffer | undefined;
  while (list !== undefined && list.length > 0 && buf === undefined) {
    const b = list.pop()!;
    pooledBytes -= cls;
    pooledBuffers--;
    if (b.byteLength === cls) buf = b; // never hand out a buffer detached while pooled
  }
  buf ??= new ArrayBuffer(cls);
  owners.set(buf, 0);
  return buf;
}

/** True when `buffer` came from the pool. @internal */
export function isPooled(buffer: ArrayBufferLike): boolean {
  return owners.has(buffer as ArrayBuffer);
}

/** A tensor now lives on `data`: counts it as an owner of a pooled buffer. @internal */
export function adoptStorage(tensor: object, data: ArrayBufferView): void {
  if (data.byteLength <= POOLED_MIN_BYTES) return;
  liveTensors++;
  liveBytes += data.byteLength;
  collected.register(tensor, data.byteLength, tensor);
  const buf = data.buffer as ArrayBuffer;
  const n = owners.get(buf);
  if (n !== undefined) owners.set(buf, n + 1);
}

/** A tensor on `data` was disposed: one owner less; the last one returns the buffer to the pool. @internal */
export function dropStorage(tensor: object, data: ArrayBufferView): void {
  if (data.byteLength <= POOLED_MIN_BYTES) return;
  liveTensors--;
  liveBytes -= data.byteLength;
  collected.unregister(tensor);
  const buf = data.buffer as ArrayBuffer;
  const n = owners.get(buf);
  if (n === undefined) return;
  if (n > 1) {
    owners.set(buf, n - 1);
    return;
  }
  owners.delete(buf);
  const cls = buf.byteLength;
  if (cls === 0 || sizeClass(cls) !== cls || pooledBytes + cls > poolLimit) return;
  let list = free.get(cls);
  if (list === undefined) {
    list = [];
    free.set(cls, list);
  }
  list.push(buf);
  pooledBytes += cls;
  pooledBuffers++;
}

/**
 * Sets how many bytes of released storage the pool may hold (default 1 GiB,
 * or the `NORMKIT_POOL_MAX_BYTES` environment variable). Lowering it frees
 * pooled buffers (largest first) until the pool fits; 0 turns pooling off.
 * @param bytes a non-negative integer
 * @throws {RangeError} for anything else
 * @example
 * nk.setMemoryPoolLimit(256 * 2 ** 20); // keep at most 256 MiB for reuse
 */
export function setMemoryPoolLimit(bytes: number): void {
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
    throw rangeError('setMemoryPoolLimit', 'bytes as a non-negative integer', bytes);
  }
  poolLimit = bytes;
  const classes = [...free.keys()].sort((a, b) => b - a);
  for (const cls of classes) {
    const list = free.get(cls)!;
    while (pooledBytes > poolLimit && list.length > 0) {
      list.pop();
      pooledBytes -= cls;
      pooledBuffers--;
    }
  }
}

/** What {@link memory} reports. */
export interface MemoryInfo {
  /** Tensors with storage over 2 KiB that are neither disposed nor garbage-collected. */
  numTensors: number;
  /** Bytes of those tensors' data. */
  numBytes: number;
  /** Bytes of released storage waiting in the pool for reuse. */
  numBytesPooled: number;
  /** Buffers waiting in the pool. */
  numBuffersPooled: number;
  /** The pool's limit in bytes ({@link setMemoryPoolLimit}). */
  poolLimitBytes: number;
  /** Open `tidy` scopes. */
  numScopes: number;
  /** Tensors (of any size) recorded by the open `tidy` scopes, disposed when they end unless returned or kept. */
  numScopedTensors: number;
}

/**
 * The state of tensor memory. Tensors of 2 KiB or less live on shared slabs
 * and V8's heap and are not counted in `numTensors` (counting them through
 * a FinalizationRegistry costs about 0.7 us each, more than a tiny op);
 * they are counted in `numScopedTensors` while a `tidy` scope holds them.
 * @returns counts and bytes
 * @example
 * nk.tidy(() => step());
 * nk.memory().numTensors; // flat across steps
 */
export function memory(): MemoryInfo {
  let scoped = 0;
  for (const s of scopes) scoped += s.length;
  return {
    numTensors: liveTensors,
    numBytes: liveBytes,
    numBytesPooled: pooledBytes,
    numBuffersPooled: pooledBuffers,
    poolLimitBytes: poolLimit,
    numScopes: scopes.length,
    numScopedTensors: scoped,
  };
}

// ---------------------------------------------------------------- scopes

const scopes: ScopedTensor[][] = [];

/** Records a new tensor in the innermost open scope. @internal */
export function trackTensor(t: ScopedTensor): void {
  const n = scopes.length;
  if (n > 0) scopes[n - 1].push(t);
}

function isTensorLike(v: unknown): v is ScopedTensor {
  return typeof v === 'object' && v !== null && typeof (v as ScopedTensor).dispose === 'function' && '_kept' in (v as object);
}

/** Tensors reachable from a returned value: tensors, arrays and plain objects of them. */
function collectReturned(value: unknown, into: Set<ScopedTensor>, depth: number): void {
  if (depth > 32 || typeof value !== 'object' || value === null) return;
  if (isTensorLike(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectReturned(v, into, depth + 1);
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) collectReturned(v, into, depth + 1);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    for (const k of Object.keys(value)) collectReturned((value as Record<string, unknown>)[k], into, depth + 1);
  }
}

/**
 * Runs `fn` and disposes every tensor created while it ran, except what it
 * returns (tensors, or arrays / plain objects / Maps of them, at any depth),
 * tensors passed to {@link keep}, and variables' values. Returned tensors
 * belong to the enclosing `tidy`, if any. Disposed storage is reused by
 * later tensors, so a steady loop inside `tidy` does not fault new pages.
 * Tensors a live GradientTape still needs are disposed when it releases them.
 *
 * @param nameOrFn a name (ignored; TensorFlow.js accepts one) or the function
 * @param maybeFn the function when a name comes first
 * @returns what `fn` returns
 * @throws {TypeError} when `fn` is not a function, or returns a Promise (tidy is synchronous;
 *   nothing is disposed then, since the async work may still read its tensors)
 * @example
 * const loss = nk.tidy(() => nk.mean(nk.square(net.apply(x, { training: true }))));
 * // every intermediate is back in the pool; `loss` lives
 */
export function tidy<T>(nameOrFn: string | (() => T), maybeFn?: () => T): T {
  const fn = typeof nameOrFn === 'string' ? maybeFn : nameOrFn;
  if (typeof fn !== 'function') throw typeError('tidy', 'fn as a function', fn);
  const scope: ScopedTensor[] = [];
  scopes.push(scope);
  let result: T;
  let ok = false;
  try {
    result = fn();
    ok = true;
  } finally {
    const i = scopes.lastIndexOf(scope);
    if (i >= 0) scopes.splice(i, 1);
    if (!ok) endScope(scope, new Set());
  }
  if (result instanceof Promise) {
    // Hand the tensors to the enclosing scope (or the GC): the promise may still use them.
    const parent = scopes[scopes.length - 1];
    if (parent !== undefined) for (const t of scope) parent.push(t);
    throw new NormkitTypeError('tidy: expected a synchronous function, got a function returning a Promise (await outside tidy, or tidy inside the async function)');
  }
  const kept = new Set<ScopedTensor>();
  collectReturned(result, kept, 0);
  endScope(scope, kept);
  return result;
}

function endScope(scope: ScopedTensor[], returned: Set<ScopedTensor>): void {
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (returned.has(t)) {
      if (parent !== undefined) parent.push(t);
    } else if (!t._kept) {
      t.dispose();
    }
  }
}

/**
 * Exempts `t` from disposal by every enclosing and later `tidy` (it still
 * goes when disposed explicitly, or when the GC collects it).
 * @param t a tensor
 * @returns `t`
 * @throws {TypeError} when `t` is not a tensor
 * @example
 * const mean = nk.tidy(() => nk.keep(nk.mean(x)));
 */
export function keep<T extends ScopedTensor>(t: T): T {
  if (!isTensorLike(t)) throw typeError('keep', 't as a Tensor', t);
  t._kept = true;
  return t;
}

/**
 * Disposes the tensors in `values` (tensors, arrays and plain objects of them,
 * at any depth); other values are ignored, as in TensorFlow.js. Disposing
 * twice is harmless.
 * @param values what to dispose
 * @example
 * nk.dispose([a, b, { c }]);
 */
export function dispose(...values: unknown[]): void {
  const set = new Set<ScopedTensor>();
  collectReturned(values, set, 0);
  for (const t of set) t.dispose();
}

// ---------------------------------------------------------------- holds

const holds = new WeakMap<object, number>();

/**
 * Holds a tensor for a consumer that will read it later (a gradient tape's
 * recorded inputs, outputs and saved tensors): while held, `dispose()` and
 * `tidy` only mark it, and it is disposed when the last hold is released.
 * @internal
 */
export function holdTensor(t: object): void {
  holds.set(t, (holds.get(t) ?? 0) + 1);
}

/** Releases one hold of {@link holdTensor}; disposes a tensor whose disposal was deferred. @internal */
export function releaseTensor(t: ScopedTensor & { _pendingDispose?: boolean }): void {
  const n = holds.get(t);
  if (n === undefined) return;
  if (n > 1) {
    holds.set(t, n - 1);
    return;
  }
  holds.delete(t);
  if (t._pendingDispose === true) t.dispose();
}

/** True while a hold is on `t`. @internal */
export function isHeld(t: object): boolean {
  return holds.has(t);
}
