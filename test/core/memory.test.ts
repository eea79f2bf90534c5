import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';

const big = () => nk.randomNormal([64, 64], { seed: 1 }); // 16 KiB: pooled storage

describe('tidy / dispose / keep / memory', () => {
  it('disposes what fn created except what it returns (nested, arrays, objects)', () => {
    let inner!: nk.Tensor;
    let outerTmp!: nk.Tensor;
    const r = nk.tidy(() => {
      outerTmp = nk.mul(big(), 2);
      const kept = nk.tidy(() => {
        inner = nk.add(big(), 1);
        return { a: [nk.sub(big(), 1)] };
      });
      expect(inner.isDisposed).toBe(true);
      expect(kept.a[0].isDisposed).toBe(false);
      return kept;
    });
    expect(outerTmp.isDisposed).toBe(true);
    expect(r.a[0].isDisposed).toBe(false);
    expect(r.a[0].shape).toEqual([64, 64]);
  });

  it('a disposed tensor used again is ERR_NORMKIT_DISPOSED from ops and data access', () => {
    const t = nk.tidy(() => nk.mul(big(), 1));
    t.dispose();
    t.dispose(); // harmless
    expect(() => nk.add(t, 1)).toThrow(expect.objectContaining({ code: 'ERR_NORMKIT_DISPOSED' }));
    expect(() => t.data).toThrow(expect.objectContaining({ code: 'ERR_NORMKIT_DISPOSED' }));
    expect(() => t.toArray()).toThrow(expect.objectContaining({ code: 'ERR_NORMKIT_DISPOSED' }));
    expect(String(t)).toContain('disposed');
  });

  it('keeps variables, kept tensors, and recycles storage through the pool', () => {
    const v = nk.tidy(() => new nk.Variable(big()));
    const k = nk.tidy(() => nk.keep(nk.mul(big(), 3)));
    expect(k.isDisposed).toBe(false);
    expect(v.read().isDisposed).toBe(false);
    const src = big();
    const a = nk.mul(src, 2);
    const buf = a.data.buffer;
    a.dispose();
    const b = nk.mul(src, 2);
    expect(b.data.buffer).toBe(buf); // the same storage came back
    expect(nk.memory().numBytesPooled).toBeGreaterThanOrEqual(0);
  });

  it('storage shared by two tensors is recycled only when both are disposed', () => {
    const a = nk.mul(big(), 2);
    const view = new nk.Tensor(a.data, [4096]);
    const before = nk.memory().numBuffersPooled;
    a.dispose();
    expect(nk.memory().numBuffersPooled).toBe(before);
    expect(view.data[0]).toBe(view.data[0]);
    view.dispose();
    expect(nk.memory().numBuffersPooled).toBe(before + 1);
  });

  it('a tensor a live tape still needs is not disposed under it', () => {
    const x = big();
    const tape = new nk.GradientTape();
    tape.watch(x);
    const loss = nk.tidy(() => tape.record(() => nk.sum(nk.square(nk.mul(x, 3)))));
    const g = tape.gradient(loss, x)!;
    expect(g.data[0]).toBeCloseTo(18 * x.data[0], 3);
  });

  it('refuses an async fn and a non-function', () => {
    expect(() => nk.tidy((async () => 1) as unknown as () => number)).toThrow(TypeError);
    expect(() => nk.tidy(3 as unknown as () => number)).toThrow(TypeError);
    expect(() => nk.setMemoryPoolLimit(-1)).toThrow(RangeError);
  });

  it('memory stays flat over a steady training loop inside tidy', () => {
    const x = nk.randomNormal([16, 8, 8, 32], { seed: 3 });
    const net = new nk.layers.BatchNormalization();
    const opt = new nk.optimizers.SGD({ learningRate: 0.01 });
    const step = () =>
      nk.tidy(() => {
        const tape = new nk.GradientTape();
        const loss = tape.record(() => nk.sub(nk.mean(nk.square(net.apply(x, { training: true }))), 1));
        const grads = tape.gradient(loss, net.trainableVariables);
        opt.applyGradients(nk.zip(grads, net.trainableVariables));
      });
    for (let i = 0; i < 20; i++) step();
    const m0 = nk.memory();
    for (let i = 0; i < 500; i++) step();
    const m1 = nk.memory();
    expect(m1.numScopedTensors).toBe(0);
    expect(m1.numBytesPooled).toBeLessThanOrEqual(m0.numBytesPooled * 2 + 1);
    expect(m1.numTensors).toBeLessThanOrEqual(m0.numTensors + 2);
  });
});
