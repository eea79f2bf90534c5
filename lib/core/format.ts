/**
 * NumPy-compatible text for arrays, so tensors and variables print the way
 * TensorFlow prints them (TensorFlow delegates to NumPy's `repr` and `str`).
 *
 * The rules follow NumPy's `arrayprint.py` (current, 2.3+) with its default print options
 * (`precision=8`, `floatmode='maxprec'`, `threshold=1000`, `edgeitems=3`,
 * `linewidth=75`, `suppress=False`, `sign='-'`):
 *
 * - Every finite value is first written with the shortest digits that read
 *   back to the same value *in its own dtype* (float32 values get float32
 *   shortest digits), limited to 8 digits after the point; when the limit
 *   cuts digits, the exact binary value is rounded half-to-even (Dragon4 does
 *   the same, so the result never depends on an intermediate decimal string).
 * - Scientific notation is used when the largest magnitude is >= 1e8 (1e6
 *   for float32: NumPy 2.3 and later cap the cutoff at the dtype's decimal
 *   precision), the smallest nonzero one is < 1e-4, or their ratio is > 1e3.
 * - Positional: `1.` rather than `1.0`; the integer parts are right-aligned
 *   and the fractions left-aligned, padded with spaces to the longest one
 *   (`0.9926309 `, `0.99292   `).
 * - Scientific: every mantissa gets as many digits as the longest needs,
 *   shorter ones continued with their own further digits (`1.0e-05`,
 *   `6.3319411e+08` beside `1.2345678e+09`); exponents share a width (>= 2).
 * - Shortest digits break exact ties to the even digit, as Dragon4 does.
 * - `repr` adds `dtype=` (not for float64) and `shape=` (summarized or empty arrays).
 * - Rows wrap at the line width with a hanging indent; arrays with more than
 *   1000 elements show 3 items at each edge of every long axis around `...`.
 */
import type { FloatArray } from './dtype.js';
import { NormkitRangeError } from './errors.js';
import { rowMajorStrides } from './layout.js';

/** Options of {@link formatArray} (the parameters of NumPy's `array2string`). */
export interface FormatOptions {
  /** Text between elements: `', '` for repr, `' '` for str (the default). */
  separator?: string;
  /** Text the caller prints before the array (`'array('`); continuation lines are indented by its length. */
  prefix?: string;
  /** Text the caller prints after the array (`','` or `')'`); its length is taken off the line width. */
  suffix?: string;
  /** Maximum line width (default 75). */
  lineWidth?: number;
  /** Arrays with more elements than this are summarized with `...` (default 1000). */
  threshold?: number;
  /** Items shown at each end of a summarized axis (default 3). */
  edgeItems?: number;
}

/** How every element of one array is printed, decided from all of them (NumPy's `FloatingFormat`). */
interface FloatLayout {
  scientific: boolean;
  /** Width of the integer part (sign included). */
  padLeft: number;
  /** Width of the fraction (positional) or of `mantissa fraction + 'e' + sign + exponent` (scientific). */
  padRight: number;
  /** Scientific only: digits after the mantissa point, the same for every element. */
  precision: number;
  /** Scientific only: digits of the exponent. */
  expDigits: number;
}

const PRECISION = 8;

/** Shortest decimal of a finite nonzero magnitude: significant digits and the exponent of the first one. */
interface Decimal {
  digits: string;
  exponent: number;
}

/** `|v|` (finite) as mantissa * 2^exponent with an integer mantissa, read from the IEEE bits. */
function decompose(v: number): { mantissa: bigint; exp2: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(v));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = hi >>> 20;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { mantissa: fraction, exp2: -1074 };
  return { mantissa: fraction | (1n << 52n), exp2: biased - 1075 };
}

/**
 * Every decimal digit of `v` (finite, > 0): a binary fraction m / 2^k equals
 * m * 5^k / 10^k, so its decimal expansion is finite and BigInt gives it exactly.
 */
function exactDecimal(v: number): Decimal {
  const { mantissa, exp2 } = decompose(v);
  if (exp2 >= 0) {
    const digits = (mantissa << BigInt(exp2)).toString();
    return { digits, exponent: digits.length - 1 };
  }
  const digits = (mantissa * 5n ** BigInt(-exp2)).toString();
  return { digits, exponent: digits.length - 1 + exp2 };
}

/**
 * Rounds a decimal to `n` >= 1 significant digits, half to even on an exact
 * tie (Dragon4's rule for the last digit). Shorter decimals come back unchanged.
 */
function roundSignificant(dec: Decimal, n: number): Decimal {
  if (dec.digits.length <= n) return dec;
  let head = dec.digits.slice(0, n);
  const rest = dec.digits.slice(n);
  const first = rest.charCodeAt(0) - 48;
  const tail = /[1-9]/.test(rest.slice(1));
  const up = first > 5 || (first === 5 && (tail || (head.charCodeAt(n - 1) - 48) % 2 === 1));
  let exponent = dec.exponent;
  if (up) {
    head = (BigInt(head) + 1n).toString();
    if (head.length > n) {
      exponent += 1;
      head = head.slice(0, n);
    }
  }
  return { digits: head, exponent };
}

function stripZeros(dec: Decimal): Decimal {
  return { digits: dec.digits.replace(/0+$/, '') || '0', exponent: dec.exponent };
}

/**
 * Shortest significant digits that round-trip `v` (finite, > 0) in its dtype
 * (Dragon4's `unique` mode). The length comes from JavaScript's own shortest
 * formatting (`toExponential()` for float64; for float32 the first
 * `toExponential(p)` that `Math.fround` maps back to `v`); the digits of that
 * length are then rounded from the exact value, half to even, because
 * `toExponential` rounds exact ties up where NumPy rounds them to even
 * (float32 3289696.25 prints as 3.2896962e+06).
 */
function shortestDecimal(v: number, float32: boolean): Decimal {
  let text = v.toExponential();
  if (float32) {
    for (let p = 0; p < 9; p++) {
      const candidate = v.toExponential(p);
      if (Math.fround(Number(candidate)) === v) {
        text = candidate;
        break;
      }
    }
  }
  const length = text.indexOf('e') - (text.includes('.') ? 1 : 0);
  return stripZeros(roundSignificant(exactDecimal(v), length));
}

/** `|v| * 10^k` rounded half-to-even, computed exactly from the binary value. */
function roundScaled(v: number, k: number): bigint {
  const { mantissa, exp2 } = decompose(v);
  let num = mantissa;
  let den = 1n;
  if (exp2 >= 0) num <<= BigInt(exp2);
  else den <<= BigInt(-exp2);
  if (k >= 0) num *= 10n ** BigInt(k);
  else den *= 10n ** BigInt(-k);
  let q = num / den;
  const twiceRem = (num % den) * 2n;
  if (twiceRem > den || (twiceRem === den && (q & 1n) === 1n)) q += 1n;
  return q;
}

/** Positional text of a finite value split at the point: `['-1', '25']` for -1.25, `['0', '']` for 0. */
function positionalParts(v: number, float32: boolean): [string, string] {
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  if (v === 0) return [`${sign}0`, ''];
  const { digits, exponent } = shortestDecimal(Math.abs(v), float32);
  const fracLen = digits.length - 1 - exponent;
  if (fracLen > PRECISION) {
    const scaled = roundScaled(v, PRECISION).toString().padStart(PRECISION + 1, '0');
    const intPart = scaled.slice(0, scaled.length - PRECISION);
    return [sign + intPart, scaled.slice(-PRECISION).replace(/0+$/, '')];
  }
  if (exponent < 0) return [`${sign}0`, '0'.repeat(-exponent - 1) + digits];
  if (fracLen <= 0) return [sign + digits + '0'.repeat(-fracLen), ''];
  return [sign + digits.slice(0, exponent + 1), digits.slice(exponent + 1)];
}

/**
 * Scientific parts of a finite value: integer digit (with sign), fraction
 * digits, exponent. The digits are the shortest round-trip ones, cut to 8
 * after the point; with `minDigits`, shorter ones are extended with the
 * value's real further digits (rounded), not zeros, as Dragon4's `min_digits`.
 */
function scientificParts(v: number, float32: boolean, minDigits = 0): { int: string; frac: string; exponent: number } {
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  if (v === 0) return { int: `${sign}0`, frac: '0'.repeat(minDigits), exponent: 0 };
  let dec = shortestDecimal(Math.abs(v), float32);
  if (dec.digits.length - 1 > PRECISION) {
    dec = stripZeros(roundSignificant(exactDecimal(Math.abs(v)), PRECISION + 1));
  } else if (dec.digits.length - 1 < minDigits) {
    dec = roundSignificant(exactDecimal(Math.abs(v)), minDigits + 1);
  }
  const digits = dec.digits.padEnd(minDigits + 1, '0');
  return { int: sign + digits[0], frac: digits.slice(1), exponent: dec.exponent };
}

function exponentText(exponent: number, width: number): string {
  return (exponent < 0 ? '-' : '+') + String(Math.abs(exponent)).padStart(width, '0');
}

/** NumPy's `FloatingFormat.fillFormat`: one layout for all the values that will be shown. */
function chooseLayout(values: ArrayLike<number>, float32: boolean): FloatLayout {
  const round = float32 ? Math.fround : (x: number) => x;
  let maxAbs = -Infinity;
  let minAbs = Infinity;
  let finiteCount = 0;
  let hasNegInf = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      if (v === -Infinity) hasNegInf = true;
      continue;
    }
    finiteCount++;
    const a = Math.abs(v);
    if (a === 0) continue;
    if (a > maxAbs) maxAbs = a;
    if (a < minAbs) minAbs = a;
  }
  // NumPy >= 2.3 lowers the large-value cutoff to 10^min(8, decimal precision
  // of the dtype): 1e6 for float32 (6 digits), 1e8 for float64.
  const largeCutoff = float32 ? 1e6 : 1e8;
  const scientific =
    minAbs !== Infinity && (maxAbs >= largeCutoff || minAbs < round(1e-4) || round(maxAbs / minAbs) > 1e3);
  const layout: FloatLayout = { scientific, padLeft: 0, padRight: 0, precision: 0, expDigits: 0 };
  if (finiteCount > 0 && scientific) {
    let expLen = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      const p = scientificParts(v, float32);
      layout.padLeft = Math.max(layout.padLeft, p.int.length);
      layout.precision = Math.max(layout.precision, p.frac.length);
      expLen = Math.max(expLen, String(Math.abs(p.exponent)).padStart(2, '0').length);
    }
    layout.expDigits = expLen;
    layout.padRight = expLen + 2 + layout.precision;
  } else if (finiteCount > 0) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      const [int, frac] = positionalParts(v, float32);
      layout.padLeft = Math.max(layout.padLeft, int.length);
      layout.padRight = Math.max(layout.padRight, frac.length);
    }
  }
  if (finiteCount !== values.length) {
    const offset = layout.padRight + 1;
    layout.padLeft = Math.max(layout.padLeft, 3 - offset, 3 + (hasNegInf ? 1 : 0) - offset);
  }
  return layout;
}

/** NumPy's `FloatingFormat.__call__`: one element in the shared layout. */
function formatValue(v: number, layout: FloatLayout, float32: boolean): string {
  if (!Number.isFinite(v)) {
    const text = Number.isNaN(v) ? 'nan' : v < 0 ? '-inf' : 'inf';
    return text.padStart(layout.padLeft + layout.padRight + 1);
  }
  if (layout.scientific) {
    const p = scientificParts(v, float32, layout.precision);
    const mantissa = `${p.int.padStart(layout.padLeft)}.${p.frac}`;
    return `${mantissa}e${exponentText(p.exponent, layout.expDigits)}`;
  }
  const [int, frac] = positionalParts(v, float32);
  return `${int.padStart(layout.padLeft)}.${frac.padEnd(layout.padRight)}`;
}

/** Indices shown along an axis of length `n`: all, or the edges when summarizing. */
function shownIndices(n: number, summarize: boolean, edgeItems: number): { lead: number[]; trail: number[]; gap: boolean } {
  const all = Array.from({ length: n }, (_, i) => i);
  if (summarize && 2 * edgeItems < n) {
    return { lead: all.slice(0, edgeItems), trail: all.slice(n - edgeItems), gap: true };
  }
  return { lead: [], trail: all, gap: false };
}

/** The values that will be printed (NumPy's `_leading_trailing`), flattened. */
function shownValues(data: FloatArray, shape: readonly number[], summarize: boolean, edgeItems: number): number[] {
  const strides = rowMajorStrides(shape);
  const out: number[] = [];
  const walk = (dim: number, offset: number): void => {
    if (dim === shape.length) {
      out.push(data[offset]);
      return;
    }
    const { lead, trail } = shownIndices(shape[dim], summarize, edgeItems);
    for (const i of lead) walk(dim + 1, offset + i * strides[dim]);
    for (const i of trail) walk(dim + 1, offset + i * strides[dim]);
  };
  walk(0, 0);
  return out;
}

/** NumPy's `_extendLine`: append `word`, wrapping first when it would pass `width`. */
function extendLine(state: { s: string; line: string }, word: string, width: number, indent: string): void {
  const needsWrap = state.line.length + word.length > width && state.line.length > indent.length;
  if (needsWrap) {
    state.s += `${state.line.trimEnd()}\n`;
    state.line = indent;
  }
  state.line += word;
}

/**
 * Formats the values of a row-major array exactly as NumPy's `array2string`
 * does with default print options (the body of `repr`/`str` of an ndarray).
 *
 * @param data row-major values; a Float32Array is printed with float32 digits
 * @param shape dimensions (`[]` for a scalar); their product must equal `data.length`
 * @param options separator (`' '` default, `', '` for repr), prefix/suffix of the caller, line width, summarization
 * @returns the text, possibly spanning several lines
 * @throws {RangeError} when the shape does not describe `data.length` values
 * @example
 * formatArray(new Float32Array([1, 2.5]), [2], { separator: ' ' });          // '[1.  2.5]'
 * formatArray(new Float64Array([1, 2, 3, 4]), [2, 2], { separator: ', ', prefix: 'array(' });
 * // '[[1., 2.],\n       [3., 4.]]'
 */
export function formatArray(data: FloatArray, shape: readonly number[], options: FormatOptions = {}): string {
  const separator = options.separator ?? ' ';
  const prefix = options.prefix ?? '';
  const lineWidth = (options.lineWidth ?? 75) - (options.suffix ?? '').length;
  const threshold = options.threshold ?? 1000;
  const edgeItems = options.edgeItems ?? 3;
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new NormkitRangeError(`formatArray: expected ${size} values for shape [${shape.join(',')}], got ${data.length}`, 'ERR_NORMKIT_SHAPE_MISMATCH');
  }
  if (size === 0) return '[]';
  const float32 = data instanceof Float32Array;
  const summarize = size > threshold;
  const layout = chooseLayout(shownValues(data, shape, summarize, edgeItems), float32);
  const strides = rowMajorStrides(shape);
  const rank = shape.length;
  const sepTrimmed = separator.trimEnd();

  const recurse = (dim: number, offset: number, indent: string, width: number): string => {
    if (dim === rank) return formatValue(data[offset], layout, float32);
    const nextIndent = `${indent} `;
    const nextWidth = width - 1;
    const { lead, trail, gap } = shownIndices(shape[dim], summarize, edgeItems);
    const items = [...lead, ...trail];
    let s = '';
    if (rank - dim === 1) {
      const elemWidth = width - Math.max(sepTrimmed.length, 1);
      const state = { s: '', line: indent };
      items.forEach((index, k) => {
        if (gap && k === lead.length) {
          extendLine(state, '...', elemWidth, indent);
          state.line += separator;
        }
        extendLine(state, recurse(dim + 1, offset + index * strides[dim], nextIndent, nextWidth), elemWidth, indent);
        if (k < items.length - 1) state.line += separator;
      });
      s = state.s + state.line;
    } else {
      const lineSep = sepTrimmed + '\n'.repeat(rank - dim - 1);
      items.forEach((index, k) => {
        if (gap && k === lead.length) s += `${indent}...${lineSep}`;
        s += indent + recurse(dim + 1, offset + index * strides[dim], nextIndent, nextWidth);
        if (k < items.length - 1) s += lineSep;
      });
    }
    return `[${s.slice(indent.length)}]`;
  };
  return recurse(0, 0, ' '.repeat(1 + prefix.length), lineWidth);
}

/**
 * NumPy's `str()` of a float scalar: shortest round-trip digits, positional
 * with at least one fractional digit (`1.0`, `0.1`) for zero and magnitudes
 * in [1e-4, 1e16) ([1e-4, 1e6) for float32), scientific without a bare point
 * otherwise (`1e-05`). The bounds are compared in float64, so float32 0.0001
 * (just below 1e-4) prints as `1e-04`, as NumPy does.
 */
function formatScalarStr(v: number, float32: boolean): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v < 0 ? '-inf' : 'inf';
  const a = Math.abs(v);
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  // NumPy >= 2.3 caps the positional range at 10^(decimal precision) for float32 (1e6); float64 keeps 1e16.
  if (a === 0 || (a < (float32 ? 1e6 : 1e16) && a >= 1e-4)) {
    if (a === 0) return `${sign}0.0`;
    const { digits, exponent } = shortestDecimal(a, float32);
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const intDigits = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    return `${sign}${intDigits}.${digits.slice(exponent + 1) || '0'}`;
  }
  const { digits, exponent } = shortestDecimal(a, float32);
  const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
  return `${sign}${digits[0]}${frac}e${exponentText(exponent, 2)}`;
}

/**
 * Text of NumPy's `str(array)`: what TensorFlow shows inside `tf.Tensor(...)`.
 * A 0-d array prints as its scalar (`1.0`), anything else as {@link formatArray}
 * with a space separator.
 *
 * @param data row-major values (Float32Array prints float32 digits)
 * @param shape dimensions, `[]` for a scalar
 * @returns e.g. `[1.  2.5]`, `[[1. 2.]\n [3. 4.]]`, `1.0`
 * @throws {RangeError} when the shape does not describe `data.length` values
 * @example
 * formatNumpyStr(new Float32Array([0.5]), []); // '0.5'
 */
export function formatNumpyStr(data: FloatArray, shape: readonly number[]): string {
  if (shape.length === 0 && data.length === 1) return formatScalarStr(data[0], data instanceof Float32Array);
  return formatArray(data, shape, { separator: ' ' });
}

/** A shape as Python prints a tuple: `(3,)`, `(2, 0)`, `()`. */
function pythonTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * Text of NumPy's `repr(array)`, as TensorFlow prints a variable's `numpy=`
 * part: `array([1., 1., 1.], dtype=float32)`. Like NumPy, it adds what the
 * values alone do not tell: `dtype=` unless the dtype is float64 (NumPy's
 * default), and `shape=` for summarized arrays (more than 1000 elements)
 * and for empty ones other than shape (0,). Those extras move to their own
 * line when they would pass the 75-column width.
 *
 * @param data row-major values
 * @param shape dimensions, `[]` for a scalar
 * @param dtype 'float32' or 'float64' (the dtype name printed)
 * @returns the repr text
 * @throws {RangeError} when the shape does not describe `data.length` values
 * @example
 * formatNumpyRepr(new Float32Array([0.01052996, 0.00967027]), [2], 'float32');
 * // 'array([0.01052996, 0.00967027], dtype=float32)'
 */
export function formatNumpyRepr(data: FloatArray, shape: readonly number[], dtype: 'float32' | 'float64'): string {
  const prefix = 'array(';
  const lineWidth = 75;
  const threshold = 1000;
  const size = shape.reduce((a, b) => a * b, 1);
  const body = formatArray(data, shape, { separator: ', ', prefix, suffix: ')', lineWidth, threshold });
  const extras: string[] = [];
  if ((size === 0 && !(shape.length === 1 && shape[0] === 0)) || size > threshold) extras.push(`shape=${pythonTuple(shape)}`);
  if (dtype !== 'float64' || size === 0) extras.push(`dtype=${dtype}`);
  if (extras.length === 0) return `${prefix}${body})`;
  const text = `${prefix}${body},`;
  const extraText = `${extras.join(', ')})`;
  const lastLineLength = text.length - (text.lastIndexOf('\n') + 1);
  const spacer = lastLineLength + extraText.length + 1 > lineWidth ? `\n${' '.repeat(prefix.length)}` : ' ';
  return text + spacer + extraText;
}
