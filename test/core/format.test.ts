import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatArray, formatNumpyRepr, formatNumpyStr } from '../../lib/core/format.js';
import { expectError } from '../helpers.js';

/** NumPy's own output for a few hundred arrays (see fixtures/numpy_format.py). */
interface NumpyCase {
  dtype: 'float32' | 'float64';
  shape: number[];
  data: string[];
  repr: string;
  str: string;
}
const fixture = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'numpy_format.json'), 'utf8')) as { numpy: string; cases: NumpyCase[] };

const f32 = (values: number[]) => new Float32Array(values);
const f64 = (values: number[]) => new Float64Array(values);
const arange = (n: number) => Float64Array.from({ length: n }, (_, i) => i);

describe('formatArray', () => {
  it('rejects a shape that does not describe the data', () => {
    expectError(() => formatArray(f64([1, 2, 3]), [2, 2]), RangeError, 'formatArray: expected 4 values for shape [2,2], got 3');
  });

  it('separates with a space by default (NumPy str) and wraps at 75 columns', () => {
    expect(formatArray(f32([1, 2.5]), [2])).toBe('[1.  2.5]');
    expect(formatArray(arange(30), [30])).toBe(
      '[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n' +
        ' 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]',
    );
  });

  it('summarizes more than 1000 elements with 3 edge items', () => {
    expect(formatArray(new Float64Array(1001), [1001])).toBe('[0. 0. 0. ... 0. 0. 0.]');
    expect(formatArray(new Float64Array(1000), [1000]).includes('...')).toBe(false);
  });
});

describe('formatNumpyRepr', () => {
  it('prints the tutorial variables exactly as TensorFlow does', () => {
    expect(formatNumpyRepr(f32([1, 1, 1]), [3], 'float32')).toBe('array([1., 1., 1.], dtype=float32)');
    expect(formatNumpyRepr(f32([0, 0, 0]), [3], 'float32')).toBe('array([0., 0., 0.], dtype=float32)');
    expect(formatNumpyRepr(f32([0.01052996, 0.00967027, 0.01049235]), [3], 'float32')).toBe(
      'array([0.01052996, 0.00967027, 0.01049235], dtype=float32)',
    );
    expect(formatNumpyRepr(f32([0.9926309, 0.99292, 0.99263245]), [3], 'float32')).toBe(
      'array([0.9926309 , 0.99292   , 0.99263245], dtype=float32)',
    );
  });

  it('uses float32 shortest digits for float32 and float64 ones for float64', () => {
    expect(formatNumpyRepr(f32([0.1, 0.2]), [2], 'float32')).toBe('array([0.1, 0.2], dtype=float32)');
    expect(formatNumpyRepr(f32([1 / 3]), [1], 'float32')).toBe('array([0.33333334], dtype=float32)');
    expect(formatNumpyRepr(f64([1 / 3, 2 / 3]), [2], 'float64')).toBe('array([0.33333333, 0.66666667])');
    expect(formatNumpyRepr(f64([0.1, 0.1 + 0.2]), [2], 'float64')).toBe('array([0.1, 0.3])');
    expect(formatNumpyRepr(f64([0.123456789012]), [1], 'float64')).toBe('array([0.12345679])');
  });

  it('rounds the exact binary value half to even when cutting to 8 digits', () => {
    // 2^-9 = 0.001953125 exactly: the cut digit is a tie, the kept digit 2 is even.
    expect(formatNumpyRepr(f64([0.001953125]), [1], 'float64')).toBe('array([0.00195312])');
    // 3 * 2^-9 = 0.005859375: tie after an odd 7, so it rounds up.
    expect(formatNumpyRepr(f64([0.005859375]), [1], 'float64')).toBe('array([0.00585938])');
  });

  it('pads integer parts on the left and fractions on the right', () => {
    expect(formatNumpyRepr(f64([-1.5, 2.25]), [2], 'float64')).toBe('array([-1.5 ,  2.25])');
    expect(formatNumpyRepr(f64([-0, 0.1]), [2], 'float64')).toBe('array([-0. ,  0.1])');
    expect(formatNumpyRepr(f64([1, 1000]), [2], 'float64')).toBe('array([   1., 1000.])');
    expect(formatNumpyRepr(f64([12345678]), [1], 'float64')).toBe('array([12345678.])');
  });

  it('switches to scientific notation on range and ratio, sharing digits and exponent width', () => {
    expect(formatNumpyRepr(f64([1e-5, 1.5]), [2], 'float64')).toBe('array([1.0e-05, 1.5e+00])');
    expect(formatNumpyRepr(f64([1e8, 1]), [2], 'float64')).toBe('array([1.e+08, 1.e+00])');
    expect(formatNumpyRepr(f64([1, 1001]), [2], 'float64')).toBe('array([1.000e+00, 1.001e+03])');
    expect(formatNumpyRepr(f64([1e-100, 1]), [2], 'float64')).toBe('array([1.e-100, 1.e+000])');
    expect(formatNumpyRepr(f32([1e-5, 1]), [2], 'float32')).toBe('array([1.e-05, 1.e+00], dtype=float32)');
    expect(formatNumpyRepr(f64([0, -1e-5]), [2], 'float64')).toBe('array([ 0.e+00, -1.e-05])');
  });

  it('uses the float32 large-value cutoff of NumPy 2.3+ (1e6) and 1e8 for float64', () => {
    expect(formatNumpyRepr(f32([999999, 1.5]), [2], 'float32')).toBe('array([9.99999e+05, 1.50000e+00], dtype=float32)');
    expect(formatNumpyRepr(f32([1e6, 1.5]), [2], 'float32')).toBe('array([1.0e+06, 1.5e+00], dtype=float32)');
    expect(formatNumpyRepr(f64([1e7, 1.5]), [2], 'float64')).toBe('array([1.0e+07, 1.5e+00])');
  });

  it('breaks exact shortest-digit ties to even and pads scientific mantissas with real digits', () => {
    // float32 3289696.25: 3.2896962e6 and 3.2896963e6 are equally close; Dragon4 keeps the even digit.
    expect(formatNumpyRepr(f32([3289696.25, 1]), [2], 'float32')).toBe('array([3.2896962e+06, 1.0000000e+00], dtype=float32)');
    // 633194112 needs 7 digits (6.331941e8); 1e9 is padded to the same 6 decimals.
    expect(formatNumpyRepr(f32([633194112, 1e9]), [2], 'float32')).toBe('array([6.331941e+08, 1.000000e+09], dtype=float32)');
    // With a longer neighbour, 633194112 shows its further true digits (…411), not zeros.
    expect(formatNumpyRepr(f32([633194112, 1.2345678e9]), [2], 'float32')).toBe('array([6.3319411e+08, 1.2345678e+09], dtype=float32)');
  });

  it('prints nan and inf padded to the column width', () => {
    expect(formatNumpyRepr(f64([NaN, -Infinity, 1]), [3], 'float64')).toBe('array([ nan, -inf,   1.])');
    expect(formatNumpyRepr(f32([NaN, Infinity]), [2], 'float32')).toBe('array([nan, inf], dtype=float32)');
  });

  it('nests rows aligned under array( and breaks lines between blocks', () => {
    expect(formatNumpyRepr(f32([1, 2, 3, 4]), [2, 2], 'float32')).toBe('array([[1., 2.],\n       [3., 4.]], dtype=float32)');
    expect(formatNumpyRepr(arange(24), [2, 3, 4], 'float64')).toBe(
      'array([[[ 0.,  1.,  2.,  3.],\n' +
        '        [ 4.,  5.,  6.,  7.],\n' +
        '        [ 8.,  9., 10., 11.]],\n' +
        '\n' +
        '       [[12., 13., 14., 15.],\n' +
        '        [16., 17., 18., 19.],\n' +
        '        [20., 21., 22., 23.]]])',
    );
  });

  it('wraps long rows and moves the dtype to its own line when it does not fit', () => {
    expect(formatNumpyRepr(arange(30), [30], 'float64')).toBe(
      'array([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12.,\n' +
        '       13., 14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25.,\n' +
        '       26., 27., 28., 29.])',
    );
    const linspace = Float32Array.from({ length: 10 }, (_, i) => i / 9);
    expect(formatNumpyRepr(linspace, [10], 'float32')).toBe(
      'array([0.        , 0.11111111, 0.22222222, 0.33333334, 0.44444445,\n' +
        '       0.5555556 , 0.6666667 , 0.7777778 , 0.8888889 , 1.        ],\n' +
        '      dtype=float32)',
    );
  });

  it('summarizes large arrays, choosing the format from the shown values only', () => {
    expect(formatNumpyRepr(arange(2000), [2000], 'float64')).toBe(
      'array([0.000e+00, 1.000e+00, 2.000e+00, ..., 1.997e+03, 1.998e+03,\n       1.999e+03], shape=(2000,))',
    );
    const big = arange(1100);
    expect(formatNumpyRepr(big, [100, 11], 'float64').split('\n').slice(5, 9)).toEqual([
      '        3.200e+01],',
      '       ...,',
      '       [1.067e+03, 1.068e+03, 1.069e+03, ..., 1.075e+03, 1.076e+03,',
      '        1.077e+03],',
    ]);
    expect(formatNumpyRepr(big, [100, 11], 'float64').endsWith('        1.099e+03]], shape=(100, 11))')).toBe(true);
  });

  it('prints scalars and empty arrays as NumPy does', () => {
    expect(formatNumpyRepr(f32([0.1]), [], 'float32')).toBe('array(0.1, dtype=float32)');
    expect(formatNumpyRepr(f64([2.5]), [], 'float64')).toBe('array(2.5)');
    expect(formatNumpyRepr(f32([]), [0], 'float32')).toBe('array([], dtype=float32)');
    expect(formatNumpyRepr(f64([]), [0], 'float64')).toBe('array([], dtype=float64)');
    expect(formatNumpyRepr(f32([]), [2, 0], 'float32')).toBe('array([], shape=(2, 0), dtype=float32)');
    expect(formatNumpyRepr(f64([]), [2, 0], 'float64')).toBe('array([], shape=(2, 0), dtype=float64)');
  });
});

describe('formatNumpyStr', () => {
  it('prints 0-d arrays as NumPy scalars (at least one fractional digit, scientific outside [1e-4, 1e16))', () => {
    expect(formatNumpyStr(f32([1]), [])).toBe('1.0');
    expect(formatNumpyStr(f32([0.1]), [])).toBe('0.1');
    expect(formatNumpyStr(f32([100]), [])).toBe('100.0');
    expect(formatNumpyStr(f64([-0]), [])).toBe('-0.0');
    expect(formatNumpyStr(f32([1e-5]), [])).toBe('1e-05');
    expect(formatNumpyStr(f64([1.5e16]), [])).toBe('1.5e+16');
    expect(formatNumpyStr(f64([9.9e15]), [])).toBe('9900000000000000.0');
    expect(formatNumpyStr(f32([999999]), [])).toBe('999999.0');
    expect(formatNumpyStr(f32([1e6]), [])).toBe('1e+06');
    expect(formatNumpyStr(f32([0.0001]), [])).toBe('1e-04');
    expect(formatNumpyStr(f64([0.0001]), [])).toBe('0.0001');
    expect(formatNumpyStr(f64([NaN]), [])).toBe('nan');
    expect(formatNumpyStr(f64([-Infinity]), [])).toBe('-inf');
  });

  it('prints arrays with a space separator', () => {
    expect(formatNumpyStr(f32([1, 2, 3, 4]), [2, 2])).toBe('[[1. 2.]\n [3. 4.]]');
  });
});

describe('formatNumpyRepr / formatNumpyStr against NumPy', () => {
  it(`reproduce NumPy ${fixture.numpy} repr and str for ${fixture.cases.length} arrays of every scale, rank and dtype`, () => {
    expect(fixture.cases.length).toBeGreaterThan(300);
    for (const c of fixture.cases) {
      const values = c.data.map((v) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v)));
      const data = c.dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
      const label = `${c.dtype} [${c.shape.join(',')}] ${c.data.slice(0, 3).join(' ')}`;
      expect(formatNumpyRepr(data, c.shape, c.dtype), label).toBe(c.repr);
      expect(formatNumpyStr(data, c.shape), label).toBe(c.str);
    }
  });
});
