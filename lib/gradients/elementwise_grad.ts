/**
 * Gradients of the element-wise ops (lib/ops/elementwise.ts). The forward
 * records only its inputs and output; each formula here reads them from the
 * record. A binary op's operand gradient is summed back over the dimensions
 * that operand was broadcast along and comes back in its dtype.
 */
import { convertData } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { deliver, registerGradient, type GradientConfig, type RecordedOp } from '../autodiff/registry.js';
import { sumToShape } from '../ops/broadcast.js';
import { binary, BinaryLoop, scalarLike, unaryLoop, UnaryLoop } from '../ops/loops.js';

/** Upstream gradient, a, b, output to the broadcast-shaped gradients of a and b (null where `need*` is false). */
type BinaryFormula = (dy: Tensor, a: Tensor, b: Tensor, out: Tensor, needA: boolean, needB: boolean) => [Tensor | null, Tensor | null];

function binaryGradient(opName: string, formula: BinaryFormula): GradientConfig<null, null> {
  return {
    opName,
    backward: ([dy], op: RecordedOp<null, null>, { needed, out }) => {
      const [a, b] = op.inputs;
      const [da, db] = formula(dy!, a, b, op.outputs[0], needed[0], needed[1]);
      return [
        da === null || !needed[0] ? null : deliver(sumToShape(da, a.shape, a.dtype), out?.[0]),
        db === null || !needed[1] ? null : deliver(sumToShape(db, b.shape, b.dtype), out?.[1]),
      ];
    },
  };
}

/** Upstream gradient, input, output to the input's gradient (any dtype; converted to the input's). */
type UnaryFormula = (dy: Tensor, x: Tensor, out: Tensor) => Tensor;

function unaryGradient(opName: string, formula: UnaryFormula): GradientConfig<null, null> {
  return {
    opName,
    backward: ([dy], op: RecordedOp<null, null>, { needed, out }) => {
      if (!needed[0]) return [null];
      const x = op.inputs[0];
      const g = formula(dy!, x, op.outputs[0]);
      return [deliver(g.dtype === x.dtype ? g : new Tensor(convertData(g.data, x.dtype), g.shape), out?.[0])];
    },
  };
}

const mulLoop = (p: Tensor, q: Tensor) => binary(BinaryLoop.Mul, p, q);

const binaryGradients = [
  binaryGradient('Add', (dy) => [dy, dy]),
  binaryGradient('Sub', (dy, _a, _b, _out, _needA, needB) => [dy, needB ? unaryLoop(UnaryLoop.Neg, dy) : null]),
  binaryGradient('Mul', (dy, a, b, _out, needA, needB) => [needA ? mulLoop(dy, b) : null, needB ? mulLoop(dy, a) : null]),
  binaryGradient('Div', (dy, _a, b, out, needA, needB) => [
    needA ? binary(BinaryLoop.Div, dy, b) : null,
    // d(a/b)/db = -a/b^2 = -(a/b)/b
    needB ? unaryLoop(UnaryLoop.Neg, binary(BinaryLoop.Div, mulLoop(dy, out), b)) : null,
  ]),
  binaryGradient('Pow', (dy, a, b, out, needA, needB) => [
    // d/da = b * a^(b-1)
    needA ? mulLoop(dy, mulLoop(b, binary(BinaryLoop.Pow, a, binary(BinaryLoop.Sub, b, scalarLike(1, b))))) : null,
    // d/db = a^b * log(a) where a > 0, else 0 (as TensorFlow)
    needB ? mulLoop(dy, mulLoop(out, unaryLoop(UnaryLoop.LogOfPositive, a))) : null,
  ]),
  // Ties go to a (as TensorFlow): a's mask is >= (<= for minimum), b's the strict other side.
  binaryGradient('Maximum', (dy, a, b, _out, needA, needB) => [
    needA ? mulLoop(dy, binary(BinaryLoop.GreaterEqual, a, b)) : null,
    needB ? mulLoop(dy, binary(BinaryLoop.Less, a, b)) : null,
  ]),
  binaryGradient('Minimum', (dy, a, b, _out, needA, needB) => [
    needA ? mulLoop(dy, binary(BinaryLoop.LessEqual, a, b)) : null,
    needB ? mulLoop(dy, binary(BinaryLoop.Greater, a, b)) : null,
  ]),
];

const unaryGradients = [
  unaryGradient('Neg', (dy) => unaryLoop(UnaryLoop.Neg, dy)),
  unaryGradient('Square', (dy, x) => mulLoop(dy, mulLoop(x, scalarLike(2, x)))),
  unaryGradient('Sqrt', (dy, _x, out) => binary(BinaryLoop.Div, dy, mulLoop(out, scalarLike(2, out)))),
  unaryGradient('Exp', (dy, _x, out) => mulLoop(dy, out)),
  unaryGradient('Log', (dy, x) => mulLoop(dy, unaryLoop(UnaryLoop.Reciprocal, x))),
  // sign(0) = 0: the gradient of |x| at 0 is 0, as TensorFlow.
  unaryGradient('Abs', (dy, x) => mulLoop(dy, unaryLoop(UnaryLoop.Sign, x))),
  unaryGradient('Sigmoid', (dy, _x, out) => mulLoop(dy, mulLoop(out, binary(BinaryLoop.Sub, scalarLike(1, out), out)))),
  unaryGradient('Relu', (dy, x) => mulLoop(dy, unaryLoop(UnaryLoop.Positive, x))),
  unaryGradient('Tanh', (dy, _x, out) => mulLoop(dy, binary(BinaryLoop.Sub, scalarLike(1, out), mulLoop(out, out)))),
];

for (const config of [...binaryGradients, ...unaryGradients]) registerGradient(config);
