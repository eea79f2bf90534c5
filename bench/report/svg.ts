/**
 * The chart: one panel per op, a group of bars per shape (GB/s by the
 * traffic model, log scale, so TensorFlow.js' 0.05 GB/s and normkit's
 * 20 GB/s fit one axis), and the copy roofline of that working set drawn
 * across each group (solid: 1 thread, dashed: 2 threads). Bars of rows
 * that failed the correctness gate are hatched and crossed. Plain SVG
 * written by hand: no chart library to install.
 */
import type { ResultRow, RunResults } from '../core/results.js';
import { machineLine } from '../core/machine.js';
import type { Scenario } from '../scenarios/index.js';

const SERIES: { impl: string; label: string; color: string }[] = [
  { impl: 'normkit-kernels-1t', label: 'normkit kernels 1t', color: '#1f5fbf' },
  { impl: 'normkit-kernels-2t', label: 'normkit kernels 2t', color: '#5fa0ff' },
  { impl: 'normkit-layer-1t', label: 'normkit layer 1t', color: '#19a5a5' },
  { impl: 'pytorch', label: 'PyTorch 1t', color: '#e07b00' },
  { impl: 'onnxruntime', label: 'onnxruntime 1t', color: '#7a4fbf' },
  { impl: 'tfjs-wasm', label: 'tfjs wasm', color: '#d9a400' },
  { impl: 'tfjs-cpu', label: 'tfjs cpu', color: '#c43c3c' },
  { impl: 'ts-loop', label: 'TS loop', color: '#6b6b6b' },
];

const W = 1200;
const PANEL_H = 250;
const TOP = 84;
const LEFT = 60;
const RIGHT = 20;
const PLOT_H = 170;
const LOG_MIN = -3; // 0.001 GB/s
const LOG_MAX = 2; // 100 GB/s

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function yOf(gbps: number, top: number): number {
  const l = Math.min(LOG_MAX, Math.max(LOG_MIN, Math.log10(Math.max(gbps, 1e-9))));
  return top + PLOT_H * (1 - (l - LOG_MIN) / (LOG_MAX - LOG_MIN));
}

function panel(s: Scenario, rows: ResultRow[], top: number): string {
  const mine = rows.filter((r) => r.op === s.op);
  const shapes = [...new Set(mine.map((r) => r.shape))];
  const out: string[] = [];
  out.push(`<text x="${LEFT}" y="${top - 8}" font-size="14"><tspan font-weight="bold">${esc(s.title)}</tspan><tspan font-size="11" fill="#444">&#160;— ${esc(s.traffic)}</tspan></text>`);
  for (let l = LOG_MIN; l <= LOG_MAX; l++) {
    const y = yOf(10 ** l, top);
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${LEFT - 6}" y="${y + 4}" font-size="11" text-anchor="end">${Number((10 ** l).toPrecision(1))}</text>`);
  }
  out.push(`<text x="14" y="${top + PLOT_H / 2}" font-size="11" transform="rotate(-90 14 ${top + PLOT_H / 2})" text-anchor="middle">GB/s (log)</text>`);
  const groupW = (W - LEFT - RIGHT) / Math.max(1, shapes.length);
  const barW = Math.min(groupW / (SERIES.length + 2), 24);
  shapes.forEach((shape, g) => {
    // Bars centred in their group.
    const x0 = LEFT + g * groupW + (groupW - SERIES.length * barW) / 2;
    const inGroup = mine.filter((r) => r.shape === shape);
    const layoutTag = inGroup[0]?.layoutTag ?? '';
    out.push(`<text x="${x0 + (SERIES.length * barW) / 2}" y="${top + PLOT_H + 16}" font-size="11" text-anchor="middle">${esc(shape)} ${esc(layoutTag)}</text>`);
    SERIES.forEach((series, i) => {
      const r = inGroup.find((row) => row.impl === series.impl);
      const x = x0 + i * barW;
      if (r === undefined) return;
      if (r.gbps === undefined) {
        // No bar: say why at the baseline (unsupported op/layout, or the peer threw).
        const why = r.status === 'error' ? 'error' : 'n/a';
        const color = r.status === 'error' ? '#c00' : '#888';
        // Written upwards from the baseline, so neighbouring labels never overlap.
        const cx = (x + barW / 2).toFixed(1);
        const by = top + PLOT_H - 3;
        out.push(`<text x="${cx}" y="${by}" dy="3" font-size="9" fill="${color}" transform="rotate(-90 ${cx} ${by})"><title>${esc(`${series.label} ${shape}: ${r.reason ?? r.status}`)}</title>${why}</text>`);
        return;
      }
      const y = yOf(r.gbps, top);
      const h = top + PLOT_H - y;
      const wrong = r.status === 'wrong';
      const fill = wrong ? 'url(#hatch)' : series.color;
      out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${fill}" stroke="${wrong ? '#c00' : 'none'}"><title>${esc(`${series.label} ${shape}: ${r.gbps.toFixed(2)} GB/s${wrong ? ' (WRONG result)' : ''}`)}</title></rect>`);
      if (wrong) out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y - 3).toFixed(1)}" font-size="10" fill="#c00" text-anchor="middle">✗</text>`);
    });
    // Roofline marks: the copy bandwidth at this working set, 1 and 2 threads.
    const r1 = inGroup.find((r) => r.impl === 'normkit-kernels-1t')?.rooflineGbps ?? inGroup.find((r) => r.threads === 1 && r.rooflineGbps !== undefined)?.rooflineGbps;
    const r2 = inGroup.find((r) => r.impl === 'normkit-kernels-2t')?.rooflineGbps;
    const xEnd = x0 + SERIES.length * barW;
    if (r1 !== undefined) out.push(`<line x1="${x0 - 2}" x2="${xEnd}" y1="${yOf(r1, top)}" y2="${yOf(r1, top)}" stroke="#000" stroke-width="2"><title>roofline 1 thread ${r1.toFixed(1)} GB/s</title></line>`);
    if (r2 !== undefined) out.push(`<line x1="${x0 - 2}" x2="${xEnd}" y1="${yOf(r2, top)}" y2="${yOf(r2, top)}" stroke="#000" stroke-width="1.5" stroke-dasharray="5,3"><title>roofline 2 threads ${r2.toFixed(1)} GB/s</title></line>`);
  });
  return out.join('\n');
}

/** The machine line, split over two lines so it fits the width. */
function machineText(res: RunResults): string[] {
  const parts = machineLine(res.machine).split('; ');
  return [parts.slice(0, 2).join('; '), parts.slice(2).join('; ')].map(
    (t, i) => `<text x="${LEFT}" y="${31 + i * 12}" font-size="10" fill="#444">${esc(t)}</text>`,
  );
}

export function chartSvg(res: RunResults, scenarios: readonly Scenario[]): string {
  const height = TOP + scenarios.length * PANEL_H + 10;
  const legend = SERIES.map((s, i) => {
    const x = LEFT + i * 125;
    return `<rect x="${x}" y="52" width="12" height="12" fill="${s.color}"/><text x="${x + 16}" y="62" font-size="11">${esc(s.label)}</text>`;
  });
  legend.push(`<line x1="${LEFT + 8 * 125}" x2="${LEFT + 8 * 125 + 20}" y1="58" y2="58" stroke="#000" stroke-width="2"/><text x="${LEFT + 8 * 125 + 24}" y="62" font-size="11">roofline 1t</text>`);
  legend.push(`<line x1="${LEFT + 8 * 125 + 90}" x2="${LEFT + 8 * 125 + 110}" y1="58" y2="58" stroke="#000" stroke-dasharray="5,3"/><text x="${LEFT + 8 * 125 + 114}" y="62" font-size="11">2t</text>`);
  const panels = scenarios.map((s, i) => panel(s, res.rows, TOP + 30 + i * PANEL_H));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif">`,
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c00" stroke-width="2"/></pattern></defs>',
    `<rect width="${W}" height="${height}" fill="#fff"/>`,
    `<text x="${LEFT}" y="18" font-size="15" font-weight="bold">normkit batch norm vs peers vs the copy roofline (float32; bytes by the traffic model)</text>`,
    ...machineText(res),
    ...legend,
    ...panels,
    '</svg>',
  ].join('\n');
}
