/**
 * Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
 *
 *   [8 bytes: N, little-endian u64][N bytes: JSON header][raw tensor bytes]
 *
 * The header maps each tensor name to `{ dtype: 'F32' | 'F64', shape, data_offsets: [begin, end] }`
 * (offsets relative to the start of the raw bytes, little-endian data) and may
 * hold `__metadata__`, a map of string to string. normkit stores a layer's
 * class and JSON config there, so one file ships a trained layer.
 */
import { allocate, type DType } from '../core/dtype.js';
import { rangeError, typeError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';

const DTYPE_CODES: Record<DType, string> = { float32: 'F32', float64: 'F64' };
const CODE_DTYPES: Record<string, DType> = { F32: 'float32', F64: 'float64' };
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Contents of a safetensors file: named tensors and string metadata. */
export interface SafetensorsContents {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Encodes tensors (in the given order) and metadata as safetensors bytes.
 * @throws {TypeError} for a non-tensor value or non-string metadata
 */
export function encodeSafetensors(tensors: Iterable<[string, Tensor]>, metadata: Record<string, string> = {}): Uint8Array {
  const api = 'encodeSafetensors';
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw typeError(api, `metadata.${k} as a string`, v);
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const entries = [...tensors];
  let offset = 0;
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw typeError(api, `tensor '${name}' as a Tensor`, t);
    header[name] = { dtype: DTYPE_CODES[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  // Pad the header with spaces so the data starts 8-byte aligned (allowed by the format).
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (littleEndian) out.set(bytes, at);
    else writeLittleEndian(t, out, at);
    at += t.data.byteLength;
  }
  return out;
}

function writeLittleEndian(t: Tensor, out: Uint8Array, at: number): void {
  const view = new DataView(out.buffer, out.byteOffset);
  const width = t.dtype === 'float32' ? 4 : 8;
  for (let i = 0; i < t.size; i++) {
    if (width === 4) view.setFloat32(at + 4 * i, t.data[i], true);
    else view.setFloat64(at + 8 * i, t.data[i], true);
  }
}

/**
 * Decodes safetensors bytes. Only F32 and F64 tensors are accepted.
 * @throws {RangeError} for a truncated or malformed file, with what was wrong
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsContents {
  const api = 'decodeSafetensors';
  const bad = (what: string, got: string) => rangeError(api, `${what} in ${source}`, got, true);
  if (bytes.length < 8) throw bad('an 8-byte header length', `${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.length - 8) throw bad(`a header of at most ${bytes.length - 8} bytes`, `${n}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8'));
  } catch (e) {
    throw bad('a JSON header', (e as Error).message);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('a JSON object header', typeof header);
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const dtype = CODE_DTYPES[e.dtype ?? ''];
    if (!dtype) throw bad(`tensor '${name}' with dtype F32 or F64`, String(e.dtype));
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw bad(`tensor '${name}' with a valid shape`, JSON.stringify(e.shape));
    const size = e.shape.reduce((p, d) => p * d, 1);
    const width = dtype === 'float32' ? 4 : 8;
    const [begin, end] = e.data_offsets ?? [NaN, NaN];
    if (!(Number.isSafeInteger(begin) && Number.isSafeInteger(end) && begin >= 0 && end === begin + size * width && end <= dataLength)) {
      throw bad(`tensor '${name}' with data_offsets of ${size * width} bytes inside the data`, JSON.stringify(e.data_offsets));
    }
    const data = allocate(dtype, size);
    const src = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    for (let i = 0; i < size; i++) data[i] = width === 4 ? src.getFloat32(4 * i, true) : src.getFloat64(8 * i, true);
    tensors.set(name, new Tensor(data, e.shape));
  }
  return { tensors, metadata };
}
