import { allocate, allocateUninit } from '../core/dtype.js';
import { describe, rangeError, typeError, NormkitRangeError } from '../core/errors.js';
import { holdTensor, releaseTensor } from '../core/memory.js';
import { isTensorSource, Tensor, type TensorSource } from '../core/tensor.js';
import { getGradient, type RecordedOp } from './registry.js';
// Every gradient registers itself on import; importing them here means a tape
// finds the gradient of any op it recorded, whichever module a program loaded first.
import '../gradients/index.js';

/** A recorded op and the versions its inputs had when it ran. */
interface TapeNode extends RecordedOp {
  inputVersions: number[];
  /** The tape released its holds on the node's tensors. */
  released?: boolean;
}

/** What a variable must offer the tape (implemented by `Variable`). */
export interface WatchableVariable extends TensorSource {
  readonly name: string;
  readonly trainable: boolean;
}

const activeTapes: GradientTape[] = [];
let pauseDepth = 0;

/** Options of {@link GradientTape}. */
export interface GradientTapeOptions {
  /** Allow more than one `gradient()` call (default false, as in TensorFlow). */
  persistent?: boolean;
  /** Watch trainable variables automatically when an op reads them (default true). */
  watchAccessedVariables?: boolean;
}

/** Options of {@link GradientTape.gradient}. */
export interface GradientOptions {
  /** Gradient of a watched source that the target does not depend on: null (default) or zeros. */
  unconnectedGradients?: 'none' | 'zero';
  /**
   * The upstream gradient of the target (TensorFlow's `output_gradients`):
   * same shape as the target; default ones. `gradient(y, x, { outputGradients: dy })`
   * is the vector-Jacobian product dy^T (dy/dx).
   */
  outputGradients?: Tensor;
}

type Source = Tensor | WatchableVariable;
type GradientOf<S> = S extends readonly unknown[] ? { [K in keyof S]: Tensor | null } : Tensor | null;

/**
 * Records the ops run inside {@link GradientTape.record} and computes
 * gradients of a result with respect to watched tensors and variables by
 * reverse-mode differentiation, as `tf.GradientTape` does.
 *
 * Trainable variables read by an op while the tape records are watched
 * automatically; other tensors must be passed to {@link GradientTape.watch}.
 *
 * @example
 * const tape = new nk.GradientTape();
 * const loss = tape.record(() => nk.mean(nk.square(net.apply(x, { training: true }))));
 * const [dGamma, dBeta] = tape.gradient(loss, net.trainableVariables);
 */
export class GradientTape {
  readonly persistent: boolean;
  readonly watchAccessedVariables: boolean;
  private nodes: TapeNode[] = [];
  /** Ids of tensors whose gradient can flow: watched ones and everything computed from them. */
  private tracked = new Set<number>();
  /** Ids of tensors watched explicitly or as variable values. */
  private watched = new Set<number>();
  private used = false;

  constructor(options: GradientTapeOptions = {}) {
    if (typeof options !== 'object' || options === null) throw typeError('GradientTape', 'an options object', options);
    this.persistent = options.persistent ?? false;
    this.watchAccessedVariables = options.watchAccessedVariables ?? true;
  }

  /**
   * Runs `fn` with this tape recording and returns what `fn` returns.
   * Tapes nest: every active tape records the ops its watched tensors flow into.
   * @throws {TypeError} when `fn` is not a function or returns a Promise (record is synchronous).
   */
  record<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw typeError('GradientTape.record', 'a function', fn);
    this.assertUsable('GradientTape.record');
    activeTapes.push(this);
    let result: T;
    try {
      result = fn();
    } finally {
      const i = activeTapes.lastIndexOf(this);
      if (i >= 0) activeTapes.splice(i, 1);
    }
    if (result instanceof Promise) {
      throw typeError('GradientTape.record', 'a synchronous function', 'a function returning a Promise', true);
    }
    return result;
  }

  /** Marks tensors (or variables) as sources whose gradients may be asked for. */
  watch(...sources: (Source | Source[])[]): void {
    for (const s of sources.flat()) {
      const t = sourceTensor(s, 'GradientTape.watch', 'source');
      this.watched.add(t.id);
      this.tracked.add(t.id);
    }
  }

  /** Variables and tensors this tape has watched so far (ids). */
  watchedIds(): ReadonlySet<number> {
    return this.watched;
  }

  /**
   * Gradient of `target` with respect to each source. With an array of
   * sources the result is an array in the same order.
   *
   * The target's gradient seed is ones (the gradient of its sum, as TensorFlow),
   * or `options.outputGradients`.
   *
   * @throws {RangeError} when a source was never watched by this tape, when the
   *   tape is not persistent and was already used, or when a tensor the
   *   gradient needs was modified in place after it was recorded.
   */
  gradient<S extends Source | readonly Source[]>(target: Tensor, sources: S, options: GradientOptions = {}): GradientOf<S> {
    const api = 'GradientTape.gradient';
    this.assertUsable(api);
    if (!(target instanceof Tensor)) throw typeError(api, 'target as a Tensor', target);
    const list = (Array.isArray(sources) ? sources : [sources]) as Source[];
    const sourceTensors = list.map((s, i) => {
      const t = sourceTensor(s, api, `sources[${i}]`);
      if (!this.watched.has(t.id)) {
        const label = isTensorSource(s) ? `variable '${s.name}'` : describe(s);
        throw rangeError(api, 'sources that this tape watched or recorded', `${label} which it never saw`, true, 'ERR_NORMKIT_INVALID_STATE');
      }
      return t;
    });
    const unconnected = options.unconnectedGradients ?? 'none';
    if (unconnected !== 'none' && unconnected !== 'zero') {
      throw rangeError(api, `unconnectedGradients 'none' or 'zero'`, unconnected);
    }

    const grads = new Map<number, Tensor>();
    // A gradient that leaves `grads` is disposed when this call created it
    // and no other slot holds it (a backward may pass one tensor through to
    // several inputs); storage shared with a user's tensor survives that,
    // since storage is recycled only when all its tensors are disposed.
    // Sums of two contributions are the only tensors accumulated into in
    // place: the tape allocated them and nothing else can see them.
    const firstId = Tensor.nextId();
    const sums = new Set<Tensor>();
    const slots = new Map<Tensor, number>();
    const setGrad = (id: number, g: Tensor) => {
      grads.set(id, g);
      slots.set(g, (slots.get(g) ?? 0) + 1);
    };
    const dropGrad = (id: number) => {
      const g = grads.get(id);
      if (g === undefined) return;
      grads.delete(id);
      const n = (slots.get(g) ?? 1) - 1;
      if (n > 0) {
        slots.set(g, n);
        return;
      }
      slots.delete(g);
      if (g.id >= firstId) g.dispose();
    };
    const seedGradient = options.outputGradients;
    if (seedGradient !== undefined) {
      if (!(seedGradient instanceof Tensor)) throw typeError(api, 'outputGradients as a Tensor', seedGradient);
      if (seedGradient.shape.length !== target.shape.length || seedGradient.shape.some((d, i) => d !== target.shape[i])) {
        throw rangeError(api, `outputGradients of the target's shape [${target.shape.join(',')}]`, describe(seedGradient), true, 'ERR_NORMKIT_SHAPE_MISMATCH');
      }
      setGrad(target.id, seedGradient);
    } else {
      setGrad(target.id, new Tensor(allocateUninit(target.dtype, target.size).fill(1), target.shape));
    }
    // Only nodes on a path from a requested source: forward reachability
    // from the sources (the backward walk adds reachability to the target).
    const reach = new Set<number>(sourceTensors.map((t) => t.id));
    const onPath = this.nodes.map((node) => {
      if (!node.inputs.some((t) => reach.has(t.id))) return false;
      for (const o of node.outputs) reach.add(o.id);
      return true;
    });
    const sourceIds = new Set<number>(sourceTensors.map((t) => t.id));
    const release = !this.persistent;
    pauseDepth++;
    try {
      for (let n = this.nodes.length - 1; n >= 0; n--) {
        const node = this.nodes[n];
        const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
        if (!onPath[n] || dys.every((d) => d === null)) {
          if (release) this.releaseNode(node);
          continue;
        }
        node.inputs.forEach((input, i) => {
          if (input.version !== node.inputVersions[i]) {
            throw new NormkitRangeError(
              `${api}: expected the inputs of op '${node.opName}' to be unchanged since they were recorded, ` +
                `got input ${i} (${describe(input)}) modified in place; compute gradients before updating variables`,
              'ERR_NORMKIT_INVALID_STATE',
            );
          }
        });
        const gradient = getGradient(node.opName);
        if (gradient === undefined) {
          throw new NormkitRangeError(`${api}: expected a registered gradient for op '${node.opName}', got none`, 'ERR_NORMKIT_INVALID_STATE');
        }
        const needed = node.inputs.map((input) => reach.has(input.id));
        const dxs = gradient.backward(dys, node, { needed });
        node.inputs.forEach((input, i) => {
          const dx = dxs[i];
          if (dx === null || dx === undefined || !needed[i]) return;
          const prev = grads.get(input.id);
          if (prev === undefined) {
            setGrad(input.id, dx);
          } else if (sums.has(prev) && prev !== dx) {
            accumulateInto(prev, dx);
          } else {
            const sum = addSameShape(prev, dx);
            sums.add(sum);
            dropGrad(input.id);
            setGrad(input.id, sum);
          }
        });
        // The outputs' gradients are complete and consumed (every consumer
        // of an output was recorded after it, so it already ran); dropped
        // after the inputs' gradients are stored, which may be the same tensor.
        if (release) {
          for (const o of node.outputs) if (!sourceIds.has(o.id)) dropGrad(o.id);
          this.releaseNode(node);
        }
      }
    } finally {
      pauseDepth--;
    }
    if (!this.persistent) {
      this.used = true;
      for (const node of this.nodes) this.releaseNode(node);
      this.nodes = [];
    }
    const out = sourceTensors.map((t) => {
      const g = grads.get(t.id);
      if (g !== undefined) return g;
      return unconnected === 'zero' ? new Tensor(allocate(t.dtype, t.size), t.shape) : null;
    });
    return (Array.isArray(sources) ? out : out[0]) as GradientOf<S>;
  }

  /** Called by {@link recordOp}: keeps `node` when one of its inputs is tracked. */
  private offer(node: TapeNode): void {
    if (!node.inputs.some((t) => this.tracked.has(t.id))) return;
    this.nodes.push(node);
    // The tape reads these in backward: they are not disposed (nor their
    // storage recycled) until it releases them.
    for (const t of node.inputs) holdTensor(t);
    for (const t of node.outputs) holdTensor(t);
    for (const o of node.outputs) this.tracked.add(o.id);
  }

  /** Releases the holds `offer` took on a node's tensors (once per node). */
  private releaseNode(node: TapeNode): void {
    if (node.released) return;
    node.released = true;
    for (const t of node.inputs) releaseTensor(t);
    for (const t of node.outputs) releaseTensor(t);
  }

  /** Called when an op reads a variable while this tape records. */
  private noteVariableRead(variable: WatchableVariable, value: Tensor): void {
    if (variable.trainable && this.watchAccessedVariables) {
      this.watched.add(value.id);
      this.tracked.add(value.id);
    }
  }

  private assertUsable(api: string): void {
    if (this.used) {
      throw rangeError(api, 'a persistent tape for more than one gradient() call', 'a non-persistent tape that was already used', true, 'ERR_NORMKIT_INVALID_STATE');
    }
  }

  /** @internal */
  static _offer(node: TapeNode): void {
    for (const tape of activeTapes) tape.offer(node);
  }

  /** @internal */
  static _noteVariableRead(variable: WatchableVariable, value: Tensor): void {
    for (const tape of activeTapes) tape.noteVariableRead(variable, value);
  }
}

function sourceTensor(s: unknown, api: string, param: string): Tensor {
  if (s instanceof Tensor) return s;
  if (isTensorSource(s)) return s.read();
  throw typeError(api, `${param} as a Tensor or Variable`, s);
}

/** `acc += dx` in place (same shape; dx may be of another dtype). */
function accumulateInto(acc: Tensor, dx: Tensor): void {
  const x = acc.data;
  const y = dx.data;
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

function addSameShape(a: Tensor, b: Tensor): Tensor {
  const out = allocateUninit(a.dtype, a.size);
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < out.length; i++) out[i] = x[i] + y[i];
  return new Tensor(out, a.shape);
}

/** True while at least one tape records (and gradients are not being computed). */
export function isRecording(): boolean {
  return activeTapes.length > 0 && pauseDepth === 0;
}

/**
 * Records an op on every active tape that tracks one of its inputs. Ops call
 * this after computing their outputs; the tape later runs the gradient
 * registered under `opName` (lib/autodiff/registry.ts) with this record.
 * `saved` and `attrs` are kept as given: the op must not modify them later.
 * @param opName name of the registered gradient
 * @param inputs the op's tensor inputs, in the order its gradient returns them
 * @param outputs the op's outputs
 * @param saved buffers the backward reads (or null)
 * @param attrs plain parameters of the op (or null)
 * @example
 * recordOp('Mul', [a, b], [out], null, null);
 */
export function recordOp(opName: string, inputs: Tensor[], outputs: Tensor[], saved: unknown, attrs: unknown): void {
  if (!isRecording()) return;
  GradientTape._offer({ opName, inputs, inputVersions: inputs.map((t) => t.version), outputs, saved, attrs });
}

/** Tells active tapes that `variable` was read as `value` (auto-watching). */
export function noteVariableRead(variable: WatchableVariable, value: Tensor): void {
  if (activeTapes.length > 0) GradientTape._noteVariableRead(variable, value);
}
