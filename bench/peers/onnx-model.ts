/**
 * A one-node ONNX model (BatchNormalization) written as protobuf bytes by
 * hand, so the bench needs neither the onnx Python package nor a protobuf
 * library. Only the fields below are emitted; field numbers are those of
 * onnx/onnx.proto (IR version 8, opset 15: the first with `training_mode`).
 *
 * Protobuf wire format in brief: every field is a varint key
 * `(fieldNumber << 3) | wireType` followed by a varint (type 0), a
 * little-endian 32-bit value (type 5) or a varint length and bytes (type 2,
 * used for strings, bytes and nested messages).
 */

class Writer {
  private readonly parts: number[] = [];

  varint(v: number | bigint): this {
    let n = BigInt(v);
    if (n < 0n) n += 1n << 64n; // negative int64 is its two's complement, 10 bytes
    do {
      let byte = Number(n & 0x7fn);
      n >>= 7n;
      if (n !== 0n) byte |= 0x80;
      this.parts.push(byte);
    } while (n !== 0n);
    return this;
  }

  private key(field: number, wireType: 0 | 2 | 5): this {
    return this.varint((field << 3) | wireType);
  }

  int(field: number, v: number): this {
    return this.key(field, 0).varint(v);
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.parts.push(...b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2).varint(b.length);
    for (const byte of b) this.parts.push(byte);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Writer): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** onnx.TensorProto.DataType.FLOAT */
const FLOAT = 1;
/** onnx.AttributeProto.AttributeType */
const ATTR_FLOAT = 1;
const ATTR_INT = 2;

/** ValueInfoProto { name = 1; type = 2 } with TypeProto.tensor_type = 1 { elem_type = 1; shape = 2 { dim = 1 { dim_value = 1 } } } */
function valueInfo(name: string, shape: readonly number[]): Writer {
  const dims = new Writer();
  for (const d of shape) dims.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, FLOAT).message(2, dims);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

/** AttributeProto { name = 1; f = 2; i = 3; type = 20 } */
function attrFloat(name: string, v: number): Writer {
  return new Writer().string(1, name).float(2, v).int(20, ATTR_FLOAT);
}
function attrInt(name: string, v: number): Writer {
  return new Writer().string(1, name).int(3, v).int(20, ATTR_INT);
}

export interface BatchNormModelOptions {
  /** Input shape, channels on axis 1 (ONNX is channels-first only). */
  shape: readonly number[];
  epsilon: number;
  /** ONNX convention: running = running * momentum + batch * (1 - momentum). */
  momentum: number;
  /** 1: batch statistics, and the running_mean/running_var outputs. */
  trainingMode: boolean;
}

/** Input and output names of the model. */
export const BN_INPUTS = ['X', 'scale', 'B', 'input_mean', 'input_var'] as const;
export const BN_OUTPUTS_INFER = ['Y'] as const;
export const BN_OUTPUTS_TRAIN = ['Y', 'running_mean', 'running_var'] as const;

/** Serialized ModelProto of `Y = BatchNormalization(X, scale, B, input_mean, input_var)`. */
export function batchNormModel(o: BatchNormModelOptions): Uint8Array {
  const c = o.shape[1];
  const outputs = o.trainingMode ? BN_OUTPUTS_TRAIN : BN_OUTPUTS_INFER;
  // NodeProto { input = 1; output = 2; name = 3; op_type = 4; attribute = 5 }
  const node = new Writer();
  for (const i of BN_INPUTS) node.string(1, i);
  for (const out of outputs) node.string(2, out);
  node.string(3, 'bn').string(4, 'BatchNormalization');
  node.message(5, attrFloat('epsilon', o.epsilon));
  node.message(5, attrFloat('momentum', o.momentum));
  if (o.trainingMode) node.message(5, attrInt('training_mode', 1));
  // GraphProto { node = 1; name = 2; input = 11; output = 12 }
  const graph = new Writer().message(1, node).string(2, 'normkit_bench_bn');
  graph.message(11, valueInfo('X', o.shape));
  for (const p of BN_INPUTS.slice(1)) graph.message(11, valueInfo(p, [c]));
  graph.message(12, valueInfo('Y', o.shape));
  if (o.trainingMode) {
    graph.message(12, valueInfo('running_mean', [c]));
    graph.message(12, valueInfo('running_var', [c]));
  }
  // ModelProto { ir_version = 1; producer_name = 2; graph = 7; opset_import = 8 { domain = 1; version = 2 } }
  return new Writer()
    .int(1, 8)
    .string(2, 'normkit-bench')
    .message(7, graph)
    .message(8, new Writer().string(1, '').int(2, 15))
    .finish();
}
