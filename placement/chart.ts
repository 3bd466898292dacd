/**
 * Terminal chart of a few series: plain ASCII (one marker per series), so it survives any terminal, pipe or
 * log. Pure: returns lines; the command colors nothing inside the plot area.
 */
import type { Chart } from './figures.js';

const MARKERS = ['*', 'o', '+', 'x', '#', '@', '%', '='];

function niceNumber(y: number, kind: Chart['yKind']): string {
  if (kind === 'probability') return y.toFixed(2);
  return Number.isInteger(y) ? String(y) : y.toFixed(1);
}

export function renderTerminalChart(chart: Chart, width = 64, height = 16): string[] {
  const pts = chart.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y)));
  const xs = pts.map((p) => p.x);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yMin = chart.yKind === 'probability' ? 0 : Math.min(0, ...pts.map((p) => p.y));
  const yMax = chart.yKind === 'probability' ? 1 : Math.max(1, ...pts.map((p) => p.y));
  const grid: string[][] = Array.from({ length: height }, () => Array<string>(width).fill(' '));
  const col = (x: number) => (xMax === xMin ? 0 : Math.round(((x - xMin) / (xMax - xMin)) * (width - 1)));
  const row = (y: number) => height - 1 - Math.round(((y - yMin) / (yMax - yMin || 1)) * (height - 1));
  chart.series.forEach((s, i) => {
    const mark = MARKERS[i % MARKERS.length] as string;
    const ok = s.points.filter((p) => Number.isFinite(p.y));
    // Draw every point, and fill the columns between neighbours so sparse series read as lines.
    for (let k = 0; k < ok.length; k++) {
      const a = ok[k] as { x: number; y: number };
      const b = ok[k + 1];
      const c0 = col(a.x);
      const c1 = b ? col(b.x) : c0;
      for (let c = c0; c <= c1; c++) {
        const t = c1 === c0 ? 0 : (c - c0) / (c1 - c0);
        const y = b ? a.y + t * (b.y - a.y) : a.y;
        const r = row(y);
        const line = grid[r] as string[];
        line[c] = line[c] === ' ' || line[c] === mark ? mark : '&';
      }
    }
  });
  const yLabels = [yMax, (yMax + yMin) / 2, yMin].map((y) => niceNumber(y, chart.yKind));
  const labelWidth = Math.max(...yLabels.map((l) => l.length));
  const out: string[] = [chart.title, ''];
  grid.forEach((line, r) => {
    let label = '';
    if (r === 0) label = yLabels[0] as string;
    else if (r === Math.floor((height - 1) / 2)) label = yLabels[1] as string;
    else if (r === height - 1) label = yLabels[2] as string;
    out.push(`${label.padStart(labelWidth)} |${line.join('').trimEnd()}`);
  });
  out.push(`${' '.repeat(labelWidth)} +${'-'.repeat(width)}`);
  const left = niceNumber(xMin, 'count');
  const right = niceNumber(xMax, 'count');
  out.push(
    `${' '.repeat(labelWidth + 2)}${left}${' '.repeat(Math.max(1, width - left.length - right.length))}${right}`,
  );
  out.push(`${' '.repeat(labelWidth + 2)}${chart.xLabel}; y: ${chart.yLabel}`);
  chart.series.forEach((s, i) => {
    out.push(`  ${MARKERS[i % MARKERS.length]} ${s.label}`);
  });
  if (chart.series.length > 1) out.push('  & several series in one cell');
  return out;
}
