/**
 * 64-bit indexing: kernels on a Float32Array of 2^31 + 64 elements (8 GiB),
 * with a pattern whose per-channel mean and variance are known in closed
 * form and whose last 64 elements (past index 2^31) shift them, so a kernel
 * that wraps or truncates an index at 2^31 gets visibly wrong statistics.
 *
 * Slow and memory-hungry (one 8 GiB buffer, ~30 s): opt-in with
 *   NORMKIT_SLOW=1 npx vitest run test/hardening/large.test.ts
 * V8 on Node 20 allows typed arrays up to 2^32 elements, so this is the real
 * thing, not a sparse stand-in (the C++ kernel tests cover the sparse case).
 */
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';

const N = 2 ** 31 + 64;
const enabled = process.env.NORMKIT_SLOW === '1';
const enoughMemory = os.freemem() > N * 4 + 2 ** 30;
const reason = !enabled
  ? 'set NORMKIT_SLOW=1 to run the 8 GiB test of 64-bit indexing'
  : !enoughMemory
    ? `needs ${((N * 4) / 2 ** 30 + 1).toFixed(1)} GiB free, ${(os.freemem() / 2 ** 30).toFixed(1)} GiB are`
    : '';
if (reason) console.log(`test/hardening/large.test.ts skipped: ${reason}`);

/** Mean and biased variance, in float64, of a multiset given as [value, count] pairs. */
function closedForm(parts: [number, number][]): { mean: number; variance: number } {
  const n = parts.reduce((s, [, k]) => s + k, 0);
  const mean = parts.reduce((s, [v, k]) => s + v * k, 0) / n;
  const variance = parts.reduce((s, [v, k]) => s + k * (v - mean) ** 2, 0) / n;
  return { mean, variance };
}

/** Fills x[from, to) by repeating x[from, from + period) (memcpy-speed doubling). */
function repeat(x: Float32Array, from: number, period: number, to: number): void {
  let filled = period;
  while (from + filled < to) {
    const len = Math.min(filled, to - from - filled);
    x.copyWithin(from + filled, from, from + len);
    filled += len;
  }
}

const log = (msg: string) => console.log(`[large] ${msg}`);

describe.skipIf(!!reason)('kernels on more than 2^31 elements (64-bit indexing)', () => {
  it('channelStats, batchNormInfer and batchNormTrain over 2^31 + 64 float32 values, two layouts', { timeout: 600_000 }, async () => {
    const t0 = performance.now();
    const since = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const x = new Float32Array(N);
    expect(x.length).toBe(N);

    // Layout 1, channels-last [outer, 32]: outer = 2^26 + 2 rows, alternating c + a and c - a,
    // except the last two rows (indices 2^31 .. 2^31 + 63), which are c + B.
    const C = 32;
    const outer = N / C;
    const a = 0.5;
    const B = 1024;
    for (let c = 0; c < C; c++) {
      x[c] = c + a;
      x[C + c] = c - a;
    }
    repeat(x, 0, 2 * C, N - 2 * C);
    for (let c = 0; c < C; c++) x[N - 2 * C + c] = x[N - C + c] = c + B;
    log(`filled layout 1 in ${since()}`);
    const stats = nk.kernels.channelStats(x, { outer, channels: C, inner: 1 });
    log(`channelStats ${since()}`);
    for (let c = 0; c < C; c++) {
      const want = closedForm([[c + a, (outer - 2) / 2], [c - a, (outer - 2) / 2], [c + B, 2]]);
      expect(Math.abs(stats.mean[c] - want.mean), `mean[${c}] = ${stats.mean[c]}, expected ${want.mean}`).toBeLessThan(2e-6 * (1 + Math.abs(want.mean)));
      expect(Math.abs(stats.variance[c] - want.variance), `variance[${c}] = ${stats.variance[c]}, expected ${want.variance}`).toBeLessThan(2e-6 * want.variance);
    }
    // The tail moves channel 0's mean by 2B/outer = 3e-5, 15x its tolerance, and every variance by 0.03.
    expect(2 * B / outer).toBeGreaterThan(10 * 2e-6);

    const asyncStats = await nk.kernels.channelStatsAsync(x, { shape: [outer, C] });
    expect(Array.from(asyncStats.mean)).toEqual(Array.from(stats.mean));
    log(`channelStatsAsync ${since()}`);

    // Inference in place with mean c and variance 1 - eps: y = x - c exactly representable.
    const eps = 1e-3;
    const mean = Float32Array.from({ length: C }, (_, c) => c);
    const variance = new Float32Array(C).fill(1 - eps);
    const y = nk.kernels.batchNormInfer(x, { outer, channels: C, inner: 1 }, { mean, variance, epsilon: eps, out: x });
    expect(y).toBe(x);
    log(`batchNormInfer in place ${since()}`);
    const tol = 1e-5;
    for (const row of [0, 1, outer / 2, outer - 3, outer - 2, outer - 1]) {
      for (const c of [0, 1, 17, 31]) {
        const want = row >= outer - 2 ? B : row % 2 === 0 ? a : -a;
        const got = x[row * C + c];
        expect(Math.abs(got - want), `y[${row}, ${c}] = ${got}, expected ${want}`).toBeLessThan(tol * (1 + Math.abs(want)));
      }
    }

    // Layout 2, [1, 2, 2^30 + 32] (channel 1 spans indices 2^30 + 32 .. 2^31 + 63):
    // refill with +-a alternating, channel 1 offset by 2, its last 64 values 2 + B.
    const inner = N / 2;
    x[0] = a;
    x[1] = -a;
    repeat(x, 0, 2, inner);
    x[inner] = 2 + a;
    x[inner + 1] = 2 - a;
    repeat(x, inner, 2, N - 64);
    x.fill(2 + B, N - 64, N);
    log(`filled layout 2 ${since()}`);
    const f = nk.kernels.batchNormTrain(x, { outer: 1, channels: 2, inner }, { epsilon: eps, out: { y: x } });
    log(`batchNormTrain in place ${since()}`);
    const want0 = closedForm([[a, inner / 2], [-a, inner / 2]]);
    const want1 = closedForm([[2 + a, (inner - 64) / 2], [2 - a, (inner - 64) / 2], [2 + B, 64]]);
    for (const [c, want] of [[0, want0], [1, want1]] as const) {
      expect(Math.abs(f.mean[c] - want.mean), `train mean[${c}] = ${f.mean[c]}, expected ${want.mean}`).toBeLessThan(2e-6 * (1 + Math.abs(want.mean)));
      expect(Math.abs(f.variance[c] - want.variance), `train variance[${c}] = ${f.variance[c]}, expected ${want.variance}`).toBeLessThan(2e-6 * want.variance);
    }
    const yAt = (k: number, value: number, c: 0 | 1) => {
      const want = (value - (c === 0 ? want0 : want1).mean) / Math.sqrt((c === 0 ? want0 : want1).variance + eps);
      expect(Math.abs(x[k] - want), `y[${k}] = ${x[k]}, expected ${want}`).toBeLessThan(1e-4 * (1 + Math.abs(want)));
    };
    yAt(0, a, 0);
    yAt(inner - 1, -a, 0);
    yAt(inner, 2 + a, 1);
    yAt(2 ** 31 - 1, 2 - a, 1);
    yAt(2 ** 31, 2 + B, 1);
    yAt(N - 1, 2 + B, 1);
    log(`done in ${since()} (threads ${nk.backendInfo().threads}, isa ${nk.backendInfo().isa})`);
  });
});
