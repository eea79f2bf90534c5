/**
 * PyTorch as an optional peer: when a Python with `torch` is on the machine
 * (Debian's python3-torch is PyTorch 1.13, the version issue 3 quotes), it
 * runs in a subprocess (peers/pytorch_peer.py) that times itself with the
 * bench's algorithm, at one thread. Arrays cross as raw float32 files.
 *
 * Its times include no IPC: the subprocess measures only `F.batch_norm` /
 * `torch.autograd.grad` calls. The backward is the gradient call alone on a
 * retained graph (PyTorch can run it without the forward).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { BenchShape, CaseData, Impl, ImplLoader, Op, Outputs, Runner, Timing, TimingOptions } from '../core/types.js';

type Reply = Record<string, unknown> & { error?: string };

/** A long-lived python process answering one JSON line per request. */
class PythonPeer {
  private readonly waiting: ((r: Reply) => void)[] = [];
  private readonly proc: ChildProcessWithoutNullStreams;
  private stderr = '';

  constructor(python: string, readonly dir: string) {
    this.proc = spawn(python, [path.join(__dirname, 'pytorch_peer.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.proc.stdout }).on('line', (line) => this.waiting.shift()?.(JSON.parse(line) as Reply));
    this.proc.stderr.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-2000)));
    this.proc.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w({ error: `python exited (${code}): ${this.stderr.trim().split('\n').pop() ?? ''}` });
    });
  }

  async request(req: Record<string, unknown>): Promise<Reply> {
    const reply = await new Promise<Reply>((resolve) => {
      this.waiting.push(resolve);
      this.proc.stdin.write(JSON.stringify(req) + '\n');
    });
    if (reply.error !== undefined) throw new Error(`PyTorch: ${reply.error}`);
    return reply;
  }

  close(): void {
    this.proc.stdin.end();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The first Python that can import torch: $NORMKIT_BENCH_PYTHON, python3, /usr/bin/python3. */
function findPython(): string | undefined {
  const candidates = [process.env.NORMKIT_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return undefined;
}

let peer: Promise<PythonPeer | { unsupported: string }> | undefined;

function loadPeer(): NonNullable<typeof peer> {
  peer ??= (async () => {
    const py = findPython();
    if (py === undefined) return { unsupported: 'no python3 with torch (optional: apt-get install python3-torch)' };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'normkit-bench-torch-'));
    const p = new PythonPeer(py, dir);
    process.once('exit', () => p.close());
    return p;
  })();
  return peer;
}

function writeF32(file: string, a: Float32Array): void {
  fs.writeFileSync(file, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

function readArray(file: string, ctor: Float32ArrayConstructor | Float64ArrayConstructor): Float32Array | Float64Array {
  const b = fs.readFileSync(file);
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new ctor(copy.buffer);
}

function torchImpl(p: PythonPeer): Impl {
  return {
    id: 'pytorch',
    peer: 'pytorch',
    label: 'PyTorch F.batch_norm (subprocess)',
    threads: 1,
    isNormkit: false,
    supports: () => true,
    async prepare(op: Op, d: CaseData): Promise<Runner> {
      for (const k of ['x', 'dy', 'gamma', 'beta', 'movingMean', 'movingVariance'] as const) writeF32(path.join(p.dir, `${k}.f32`), d[k]);
      await p.request({ cmd: 'prepare', op, shape: d.shape.shape, axis: d.shape.axis, epsilon: d.epsilon, dir: p.dir });
      return {
        run: async () => void (await p.request({ cmd: 'run' })),
        outputs: async () => {
          const { names } = (await p.request({ cmd: 'outputs', dir: p.dir })) as { names: (keyof Outputs)[] };
          const out: Outputs = {};
          for (const n of names) out[n] = Float32Array.from(readArray(path.join(p.dir, `out_${n}.f32`), Float32Array));
          return out;
        },
        selfTimed: async (timing: TimingOptions) => ((await p.request({ cmd: 'time', timing })) as { timing: Timing }).timing,
        dispose: async () => void (await p.request({ cmd: 'dispose' })),
      };
    },
  };
}

export const loadTorchImpls: ImplLoader = async () => {
  const p = await loadPeer();
  if ('unsupported' in p) return p;
  return [torchImpl(p)];
};

export async function torchVersion(): Promise<string | undefined> {
  const p = await loadPeer();
  if ('unsupported' in p) return undefined;
  return String((await p.request({ cmd: 'info' })).torch);
}

/** PyTorch's batch-norm channel statistics of `x` (for the accuracy report), or undefined without torch. */
export async function torchChannelStats(x: Float32Array, s: BenchShape): Promise<{ mean: Float64Array; variance: Float64Array } | undefined> {
  const p = await loadPeer();
  if ('unsupported' in p) return undefined;
  const file = path.join(p.dir, 'stats_x.f32');
  writeF32(file, x);
  await p.request({ cmd: 'stats', path: file, shape: s.shape, axis: s.axis });
  return {
    mean: Float64Array.from(readArray(file + '.mean', Float32Array)),
    variance: Float64Array.from(readArray(file + '.var', Float64Array)),
  };
}

/** Shuts the subprocess down (the bench calls this when it is done). */
export async function closeTorch(): Promise<void> {
  if (peer === undefined) return;
  const p = await peer;
  if (!('unsupported' in p)) p.close();
}
