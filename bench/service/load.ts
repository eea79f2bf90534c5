/**
 * Load test of examples/service.ts on loopback with wrk (Debian: `apt-get install wrk`),
 * bounded: every run lasts --seconds (default 10). Writes bench/service/RESULTS.md.
 *
 *   npx tsx bench/service/load.ts [--seconds 10] [--connections 8] [--out bench/service/RESULTS.md]
 *
 * Scenarios, each on the sync path (POST /normalize) and the async path (POST /normalize?async=1):
 *   small-json    [8, 64] batches as JSON
 *   large-binary  [4096, 64] batches as binary float32 (1 MiB per request)
 *   mixed         large-binary load plus, at the same time, a second wrk of small-json requests:
 *                 the small requests' latency shows whether big batches block the event loop
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const seconds = Number(opt('seconds', '10'));
const connections = Number(opt('connections', '8'));
const outFile = path.resolve(opt('out', path.join(root, 'bench', 'service', 'RESULTS.md')));
const FEATURES = 64;

interface WrkResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  requests: number;
  errors: string;
}

/** Milliseconds from wrk's "1.23ms" / "850.00us" / "1.20s". */
function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`load: cannot read wrk latency ${JSON.stringify(text)}`);
  return Number(m[1]) * { us: 1e-3, ms: 1, s: 1e3, m: 6e4 }[m[2] as 'us' | 'ms' | 's' | 'm'];
}

function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p50 = /^\s+50%\s+(\S+)/m.exec(out);
  const p99 = /^\s+99%\s+(\S+)/m.exec(out);
  const total = /(\d+) requests in/.exec(out);
  if (!rps || !p50 || !p99 || !total) throw new Error(`load: unexpected wrk output:\n${out}`);
  const errs = [/Socket errors:.*$/m.exec(out)?.[0], /Non-2xx or 3xx responses: \d+/.exec(out)?.[0]].filter(Boolean).join('; ');
  return { requestsPerSecond: Number(rps[1]), p50: ms(p50[1]), p99: ms(p99[1]), requests: Number(total[1]), errors: errs };
}

function lua(dir: string, name: string, contentType: string, shape: string, bodyFile: string): string {
  const file = path.join(dir, `${name}.lua`);
  writeFileSync(file, [
    'wrk.method = "POST"',
    `wrk.headers["Content-Type"] = "${contentType}"`,
    shape ? `wrk.headers["X-Shape"] = "${shape}"` : '',
    `local f = assert(io.open("${bodyFile}", "rb"))`,
    'wrk.body = f:read("*a")',
    'f:close()',
  ].join('\n'));
  return file;
}

function wrk(url: string, script: string, conns = connections): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${conns}`, `-d${seconds}s`, '--latency', '-s', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(parseWrk(out)) : reject(new Error(`wrk exited with ${code}:\n${out}`))));
  });
}

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`load: the service exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`load: ${url} did not answer in 20 s`);
}

function floats(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = 5 + (s / 2 ** 32 - 0.5) * 8;
  }
  return x;
}

async function main(): Promise<void> {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('load: wrk is not installed (Debian: apt-get install wrk)');
  }
  const loadBefore = os.loadavg().map((v) => v.toFixed(2)).join(' / ');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'normkit-load-'));
  const small = floats(8 * FEATURES, 1);
  const large = floats(4096 * FEATURES, 2);
  writeFileSync(path.join(dir, 'small.json'), JSON.stringify({ shape: [8, FEATURES], data: Array.from(small) }));
  writeFileSync(path.join(dir, 'large.bin'), new Uint8Array(large.buffer));
  const smallLua = lua(dir, 'small', 'application/json', '', path.join(dir, 'small.json'));
  const largeLua = lua(dir, 'large', 'application/octet-stream', `4096,${FEATURES}`, path.join(dir, 'large.bin'));

  const port = 18000 + Math.floor(Math.random() * 1000);
  const model = path.join(dir, 'bn.safetensors');
  const service = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'examples', 'service.ts'), '--train-demo', '--model', model, '--port', String(port)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let banner = '';
  service.stdout!.on('data', (d) => (banner += d));
  const base = `http://127.0.0.1:${port}`;
  const rows: string[] = [];
  const results: Record<string, unknown> = {};
  try {
    await waitFor(`${base}/healthz`, service);
    for (const [name, script] of [['small-json [8,64]', smallLua], ['large-binary [4096,64]', largeLua]] as const) {
      for (const [label, suffix] of [['sync', ''], ['async', '?async=1']] as const) {
        process.stderr.write(`load: ${name} ${label} (${seconds} s)\n`);
        const r = await wrk(`${base}/normalize${suffix}`, script);
        results[`${name} ${label}`] = r;
        rows.push(`| ${name} | ${label} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.requests} | ${r.errors || '-'} |`);
      }
    }
    const mixedRows: string[] = [];
    for (const [label, suffix] of [['sync', ''], ['async', '?async=1']] as const) {
      process.stderr.write(`load: mixed ${label} (${seconds} s)\n`);
      const [big, tiny] = await Promise.all([wrk(`${base}/normalize${suffix}`, largeLua, 4), wrk(`${base}/normalize${suffix}`, smallLua, 4)]);
      results[`mixed ${label}`] = { large: big, small: tiny };
      mixedRows.push(`| ${label} | ${big.requestsPerSecond.toFixed(0)} | ${big.p99.toFixed(2)} | ${tiny.requestsPerSecond.toFixed(0)} | ${tiny.p50.toFixed(2)} | ${tiny.p99.toFixed(2)} |`);
    }
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const md = [
      '# examples/service.ts under load',
      '',
      `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, loopback;`,
      `service: \`${banner.trim().split('\n').pop()}\`.`,
      `wrk 4.1 (Debian), one client thread, ${seconds} s per run; load average before the run ${loadBefore}. The client shares the cores with the service,`,
      'so absolute numbers are a floor; compare the rows with each other.',
      '',
      'Reproduce (from the repository root, after `apt-get install wrk`):',
      '',
      '```',
      `npx tsx bench/service/load.ts --seconds ${seconds} --connections ${connections}`,
      '```',
      '',
      `## One kind of request at a time (${connections} connections)`,
      '',
      '| scenario | path | requests/s | p50 ms | p99 ms | requests | errors |',
      '|---|---|---:|---:|---:|---:|---|',
      ...rows,
      '',
      '## Mixed: large batches and small requests at the same time (4 + 4 connections)',
      '',
      'The small requests\' latency is what another user of the service sees while big batches are normalized.',
      '',
      '| path | large req/s | large p99 ms | small req/s | small p50 ms | small p99 ms |',
      '|---|---:|---:|---:|---:|---:|',
      ...mixedRows,
      '',
      '<details><summary>raw</summary>',
      '',
      '```json',
      JSON.stringify(results, null, 2),
      '```',
      '',
      '</details>',
      '',
    ].join('\n');
    writeFileSync(outFile, md);
    console.log(md);
  } finally {
    service.kill('SIGTERM');
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
