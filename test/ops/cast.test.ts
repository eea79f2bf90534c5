import { describe, expect, it } from 'vitest';
import { cast } from '../../lib/ops/cast.js';
import { GradientTape } from '../../lib/autodiff/tape.js';
import { tensor } from '../../lib/core/tensor.js';
import { expectError } from '../helpers.js';

describe('cast', () => {
  it('rejects unknown dtypes', () => {
    expectError(() => cast(tensor([1]), 'int32' as never), TypeError, `cast: expected dtype 'float32' or 'float64', got "int32"`);
  });

  it('rounds float64 to the nearest float32 and returns the input for the same dtype', () => {
    const x = tensor([0.1, 1e40], undefined, 'float64');
    const y = cast(x, 'float32');
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.data)).toEqual([Math.fround(0.1), Infinity]);
    expect(cast(y, 'float32')).toBe(y);
  });

  it('casts the gradient back to the input dtype', () => {
    const x = tensor([1, 2]);
    const tape = new GradientTape();
    tape.watch(x);
    const y = tape.record(() => cast(x, 'float64'));
    const g = tape.gradient(y, x);
    expect(g?.dtype).toBe('float32');
    expect(Array.from(g!.data)).toEqual([1, 1]);
  });
});
