/**
 * Markdown tables, padded so they read well in a terminal too: stdout and
 * RESULTS.md print the same text.
 */
import type { AccuracyRow } from '../accuracy.js';
import type { ResultRow, RunResults } from '../core/results.js';
import { formatNs } from '../core/timing.js';
import type { Scenario } from '../scenarios/index.js';

export function markdownTable(header: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const pad = (s: string, i: number): string => (align[i] === 'r' ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (cells: string[]): string => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function times(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '';
  return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)}x`;
}

function mb(bytes: number): string {
  if (bytes < 1e6) return `${(bytes / 1e3).toPrecision(3)} kB`;
  return `${(bytes / 1e6).toPrecision(3)} MB`;
}

/** The check column: gate verdict, or why the row has no numbers. */
function check(r: ResultRow): string {
  switch (r.status) {
    case 'ok':
      return r.gate ? `ok ${r.gate.maxRelError.toExponential(0)}` : 'ok';
    case 'wrong':
      return `WRONG ${r.gate?.worst ?? ''} err ${r.gate?.maxRelError.toExponential(1) ?? '?'}`;
    case 'error':
      return `ERROR: ${(r.reason ?? '').slice(0, 70)}`;
    default:
      return r.reason ?? r.status;
  }
}

function note(r: ResultRow): string {
  const parts: string[] = r.note ? [r.note] : [];
  if (r.threadScaling !== undefined) parts.push(`${times(r.threadScaling)} vs 1t`);
  if (r.forwardSubtractedNs !== undefined) parts.push(`grad call ${formatNs((r.ns ?? 0) + r.forwardSubtractedNs)} - fwd ${formatNs(r.forwardSubtractedNs)}`);
  if (r.timing && r.timing.samples < 3) parts.push(`${r.timing.samples} sample`);
  return parts.join('; ');
}

export const RESULT_HEADER = ['shape', 'layout', 'implementation', 'thr', 'median', 'p10–p90', 'GB/s', 'roofline', '% roof', 'normkit speedup', 'check', 'note'];

export function resultCells(r: ResultRow): string[] {
  const t = r.timing;
  const timed = r.ns !== undefined && t !== undefined;
  return [
    r.shape,
    r.layoutTag,
    r.impl,
    String(r.threads),
    timed ? formatNs(r.ns ?? NaN) : '—',
    timed ? `${formatNs(t.p10Ns)}–${formatNs(t.p90Ns)}` : '',
    r.gbps !== undefined ? (r.gbps >= 10 ? r.gbps.toFixed(1) : r.gbps >= 1 ? r.gbps.toFixed(2) : r.gbps.toPrecision(2)) : '',
    r.rooflineGbps !== undefined ? r.rooflineGbps.toFixed(1) : '',
    r.rooflineFraction !== undefined ? `${(r.rooflineFraction * 100).toFixed(0)}%` : '',
    times(r.normkitSpeedup),
    check(r),
    note(r),
  ];
}

export function opTable(s: Scenario, rows: ResultRow[]): string {
  const mine = rows.filter((r) => r.op === s.op);
  const shapes = [...new Set(mine.map((r) => r.shape))];
  const lines = shapes.map((sh) => {
    const first = mine.find((r) => r.shape === sh);
    return first ? `${sh}: ${first.elements.toLocaleString('en-US')} elements, traffic ${mb(first.trafficBytes)}, working set ${mb(first.workingSetBytes)}` : sh;
  });
  return [
    `### ${s.title} — ${s.traffic}`,
    '',
    markdownTable(RESULT_HEADER, mine.map(resultCells), ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l']),
    '',
    lines.map((l) => `- ${l}`).join('\n'),
  ].join('\n');
}

export function accuracyTable(rows: AccuracyRow[]): string {
  const e = (v: number): string => (Number.isFinite(v) ? v.toExponential(1) : String(v));
  return markdownTable(
    ['shape', 'layout', 'offset', 'implementation', 'mean rel err', 'mean err (σ)', 'variance rel err', 'error'],
    rows.map((a) => [a.shape, a.layout, String(a.offset), a.impl, e(a.meanRelError), e(a.meanErrorInStd), e(a.varianceRelError), a.error ?? '']),
    ['l', 'l', 'r', 'l', 'r', 'r', 'r', 'l'],
  );
}

export function targetsTable(res: RunResults): string {
  return markdownTable(
    ['target', 'result', 'measured'],
    res.targets.map((t) => [t.target, t.met === null ? 'n/a' : t.met ? 'MET' : 'MISSED', t.detail]),
    ['l', 'l', 'l'],
  );
}

const SUMMARY_PEERS = ['pytorch', 'onnxruntime', 'tfjs-wasm', 'tfjs-cpu', 'ts-loop'];

/**
 * One line per op x shape: normkit's kernel API at 1 thread against the
 * roofline, its 2-thread scaling, and how many times faster it is than each
 * peer (`WRONG`/`error`/`n/a` where the peer has no valid number).
 */
export function summaryTable(rows: ResultRow[], referenceId: string): string {
  const groups: ResultRow[] = rows.filter((r) => r.impl === referenceId);
  const peerCell = (g: ResultRow, peer: string): string => {
    const r = rows.find((o) => o.op === g.op && o.shape === g.shape && o.peer === peer);
    if (r === undefined) return '';
    if (r.status === 'wrong') return `${times(r.normkitSpeedup)} WRONG`;
    if (r.status === 'error') return 'error';
    if (r.status !== 'ok') return 'n/a';
    return times(r.normkitSpeedup);
  };
  return markdownTable(
    ['op', 'shape', 'layout', 'normkit 1t', 'GB/s', '% roof', '2t scaling', ...SUMMARY_PEERS.map((p) => `vs ${p}`)],
    groups.map((g) => {
      const two = rows.find((o) => o.op === g.op && o.shape === g.shape && o.impl === referenceId.replace(/-1t$/, '-2t'));
      return [
        g.op,
        g.shape,
        g.layoutTag,
        g.ns !== undefined ? formatNs(g.ns) : g.status,
        g.gbps !== undefined ? g.gbps.toFixed(g.gbps >= 10 ? 1 : 2) : '',
        g.rooflineFraction !== undefined ? `${(g.rooflineFraction * 100).toFixed(0)}%` : '',
        times(two?.threadScaling),
        ...SUMMARY_PEERS.map((p) => peerCell(g, p)),
      ];
    }),
    ['l', 'l', 'l', 'r', 'r', 'r', 'r', ...SUMMARY_PEERS.map(() => 'r' as const)],
  );
}

/** The tiny shape's normkit rows as multiples of the empty Node-API call. */
export function overheadTable(rows: ResultRow[], shape: string, noopNs: number): string {
  const mine = rows.filter((r) => r.shape === shape && r.isNormkit && r.ns !== undefined);
  return markdownTable(
    ['op', 'implementation', 'median', 'x noop'],
    [['—', 'bench addon noop (empty call, two typed arrays)', formatNs(noopNs), '1.0x'], ...mine.map((r) => [r.op, r.impl, formatNs(r.ns ?? NaN), times((r.ns ?? NaN) / noopNs)])],
    ['l', 'l', 'r', 'r'],
  );
}
