/**
 * The reduced soak (the full one is `npm run soak`, test/soak/soak.ts): the
 * same loop in a child process with --expose-gc, 200,000 small calls and 80
 * large ones; resident memory after warm-up and at the end differ by less
 * than 40 MB. The limit is twice the full soak's: with other test files
 * running in parallel, glibc may keep two or three freed 12.8 MB output
 * buffers resident for a while, which is not a leak; a leak of one large
 * output per call (80 x 12.8 MB) or of 100 bytes per small call (200k calls)
 * still fails it.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('soak (reduced)', () => {
  it('200k small + 80 large kernel/layer calls keep RSS flat', { timeout: 60_000 }, () => {
    const root = path.resolve(__dirname, '..', '..');
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/soak/soak.ts', '--small', '200000', '--large', '80', '--limit-mb', '40', '--json'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 55_000,
    });
    expect(r.status, `soak exited with ${r.status} (${r.signal}); stdout: ${r.stdout}; stderr: ${r.stderr}`).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    console.log(`[soak] ${report.phases.map((p: { name: string; calls: number; seconds: number; rssGrowthMb: number }) => `${p.name}: ${p.calls} calls in ${p.seconds} s, RSS growth ${p.rssGrowthMb} MB`).join('; ')}`);
    expect(report.exposeGc).toBe(true);
    expect(report.pass).toBe(true);
    for (const p of report.phases) expect(p.rssGrowthMb).toBeLessThan(40);
  });
});
