/** The machine line of the report: CPU, cores, Node, normkit backend, peer versions, date. */
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  /** CPU flags that matter for the kernels. */
  simd: string[];
  memoryGiB: number;
  node: string;
  platform: string;
  normkit?: { isa: string; isaAvailable: string[]; threads: number; version: string };
  peers: Record<string, string>;
  date: string;
  /** 1-minute load average when the run started and ended: other work on the shared cores skews every number. */
  loadAverage: { start: number; end?: number };
}

export function cpuInfo(): { cpu: string; simd: string[] } {
  try {
    const text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
    const flags = /^flags\s*:\s*(.+)$/m.exec(text)?.[1]?.split(/\s+/) ?? [];
    const simd = ['sse2', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl'].filter((f) => flags.includes(f));
    return { cpu: model, simd };
  } catch {
    return { cpu: os.cpus()[0]?.model ?? 'unknown', simd: [] };
  }
}

export function machineLine(m: MachineInfo): string {
  const nk = m.normkit ? `normkit ${m.normkit.version} isa=${m.normkit.isa} (available ${m.normkit.isaAvailable.join('/')}), threads=${m.normkit.threads}` : 'normkit: addon not built';
  const peers = Object.entries(m.peers)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const load = `load avg ${m.loadAverage.start.toFixed(2)}${m.loadAverage.end !== undefined ? ` -> ${m.loadAverage.end.toFixed(2)}` : ''}`;
  return `${m.cpu} (${m.simd.join(' ')}), ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node} ${m.platform}; ${nk}; peers: ${peers || 'none'}; ${m.date}, ${load}`;
}
