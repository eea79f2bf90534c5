/**
 * The gradient registry: every differentiable op's backward, looked up by op
 * name when a {@link GradientTape} runs backward.
 *
 * A forward op does not hand the tape a closure. It records what its backward
 * will need — `{ opName, inputs, outputs, saved, attrs }` — with `recordOp`
 * (lib/autodiff/tape.ts), and its gradient lives in its own file under
 * `lib/gradients/`, registered here under the same name. The tape keeps the
 * record, checks that the inputs were not modified in place, and calls the
 * registered {@link GradientFn} with the upstream gradients and a
 * {@link GradientRequest} saying which inputs want a gradient and, optionally,
 * where to write it.
 *
 * ## Adding an op with its gradient
 * 1. Write the forward in `lib/ops/<family>.ts`. After computing the outputs,
 *    call `recordOp('MyOp', inputs, outputs, saved, attrs)`: `saved` holds
 *    intermediate buffers the backward reads (statistics, a transposed copy),
 *    `attrs` the plain parameters (axes, a layout, flags). Both are kept as
 *    they are, so pass nothing the op will modify later.
 * 2. Write `lib/gradients/my_op_grad.ts`: a `GradientConfig` whose
 *    `backward(dys, op, request)` returns one entry per input — the gradient
 *    for each `request.needed[i]`, shaped like `op.inputs[i]` and in its
 *    dtype, or null. When `request.out?.[i]` is given, write that gradient
 *    into it (overwriting it) and return it; {@link deliver} does that for a
 *    gradient computed into a fresh tensor. End the file with
 *    `registerGradient(myOpGradient)`.
 * 3. Import the file from `lib/gradients/index.ts`; the registry test then
 *    checks that the op's name has a gradient and that writing into given
 *    buffers gives the values the fresh path gives.
 *
 * A backward must not modify its inputs, outputs, saved buffers or upstream
 * gradients, and must not record (the tape pauses recording while it runs).
 */
import type { Tensor } from '../core/tensor.js';

/** What a forward op left on the tape for its backward. */
export interface RecordedOp<Saved = unknown, Attrs = unknown> {
  /** The name the gradient is registered under. */
  readonly opName: string;
  /** The op's tensor inputs, in the order its gradient returns them. */
  readonly inputs: readonly Tensor[];
  /** The op's outputs; `dys[k]` is the upstream gradient of `outputs[k]`. */
  readonly outputs: readonly Tensor[];
  /** Buffers the forward computed for the backward (statistics, copies). */
  readonly saved: Saved;
  /** Plain parameters of the op (axes, layouts, flags). */
  readonly attrs: Attrs;
}

/** Which input gradients a backward call must produce, and where. */
export interface GradientRequest {
  /** `needed[i]`: input i wants a gradient. An unneeded entry may be returned as null. */
  readonly needed: readonly boolean[];
  /**
   * Optional destinations, one per input: a tensor of that input's shape and
   * dtype (memory shared with nothing the backward reads) that receives the
   * gradient and is returned in its place. Missing or null: a fresh tensor.
   */
  readonly out?: readonly (Tensor | null | undefined)[];
}

/**
 * The backward of one op: given the upstream gradient of each output (null
 * where none flows; never all null), returns one entry per input — its
 * gradient when `request.needed[i]` (shaped like the input, in its dtype;
 * `request.out[i]` itself when given) or null.
 */
export type GradientFn<Saved = unknown, Attrs = unknown> = (
  dys: readonly (Tensor | null)[],
  op: RecordedOp<Saved, Attrs>,
  request: GradientRequest,
) => (Tensor | null)[];

/** A gradient as registered: the op name it answers to and its backward. */
export interface GradientConfig<Saved = unknown, Attrs = unknown> {
  opName: string;
  backward: GradientFn<Saved, Attrs>;
}

const registry = new Map<string, GradientConfig>();

/**
 * Registers the gradient of `config.opName`.
 * @param config op name and backward
 * @throws {Error} when that op name already has a gradient (two files claiming one op)
 * @example
 * registerGradient({ opName: 'Neg', backward: ([dy], op, request) => [deliver(negate(dy!), request.out?.[0])] });
 */
export function registerGradient<Saved, Attrs>(config: GradientConfig<Saved, Attrs>): void {
  if (registry.has(config.opName)) throw new Error(`registerGradient: expected a new op name, got '${config.opName}' registered twice`);
  registry.set(config.opName, config as GradientConfig);
}

/**
 * The gradient registered for `opName`, or undefined.
 * @param opName the name the forward op records
 * @returns the registered config
 * @example
 * getGradient('Mul')?.backward;
 */
export function getGradient(opName: string): GradientConfig | undefined {
  return registry.get(opName);
}

/**
 * Names of every op with a registered gradient, sorted.
 * @returns the op names
 * @example
 * registeredGradients().includes('BatchNormTrain'); // true
 */
export function registeredGradients(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Hands back a gradient computed into a fresh tensor: `grad` itself, or, when
 * a destination is given, `grad`'s values written into it (converted to its
 * dtype) and the destination returned.
 * @param grad the computed gradient, or null
 * @param out the caller's destination, if any
 * @returns what the backward returns for that input
 * @example
 * return [deliver(dx, request.out?.[0])];
 */
export function deliver(grad: Tensor | null, out: Tensor | null | undefined): Tensor | null {
  if (grad === null || out === undefined || out === null) return grad;
  out.data.set(grad.data);
  return out;
}
