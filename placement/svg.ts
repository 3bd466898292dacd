/**
 * Hand-written SVG line chart (no dependency): axes with round ticks, grid, one polyline per series with its
 * own color and dash pattern (readable in grey print), legend, title. Pure: returns the document text.
 */
import type { Chart } from './figures.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3', '', '6 3', '2 3', '8 3 2 3'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function label(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toFixed(3)));
}

export function renderSvg(chart: Chart, width = 720, height = 440): string {
  const ml = 64;
  const mr = 24;
  const mt = 48;
  const legendH = 18 * chart.series.length + 8;
  const mb = 56 + legendH;
  const pw = width - ml - mr;
  const ph = height - mt - mb;
  const pts = chart.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y)));
  const xMin = Math.min(...pts.map((p) => p.x));
  const xMax = Math.max(...pts.map((p) => p.x));
  const yMin = chart.yKind === 'probability' ? 0 : 0;
  const yMax = chart.yKind === 'probability' ? 1 : Math.max(1, ...pts.map((p) => p.y)) * 1.05;
  const toX = (x: number) => ml + (xMax === xMin ? pw / 2 : ((x - xMin) / (xMax - xMin)) * pw);
  const toY = (y: number) => mt + ph - ((y - yMin) / (yMax - yMin)) * ph;
  const f = (n: number) => n.toFixed(2);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<title>${esc(chart.title)}</title>`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="14" font-weight="bold">${esc(chart.title)}</text>`,
  );
  for (const t of ticks(yMin, yMax)) {
    parts.push(`<line x1="${ml}" y1="${f(toY(t))}" x2="${ml + pw}" y2="${f(toY(t))}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${ml - 6}" y="${f(toY(t) + 4)}" text-anchor="end">${label(t)}</text>`);
  }
  for (const t of ticks(xMin, xMax, 8)) {
    parts.push(`<line x1="${f(toX(t))}" y1="${mt}" x2="${f(toX(t))}" y2="${mt + ph}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${f(toX(t))}" y="${mt + ph + 16}" text-anchor="middle">${label(t)}</text>`);
  }
  parts.push(`<rect x="${ml}" y="${mt}" width="${pw}" height="${ph}" fill="none" stroke="#333333"/>`);
  parts.push(`<text x="${ml + pw / 2}" y="${mt + ph + 36}" text-anchor="middle">${esc(chart.xLabel)}</text>`);
  parts.push(
    `<text x="16" y="${mt + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${mt + ph / 2})">${esc(chart.yLabel)}</text>`,
  );
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const dash = DASHES[i % DASHES.length] as string;
    const d = s.points
      .filter((p) => Number.isFinite(p.y))
      .map((p) => `${f(toX(p.x))},${f(toY(p.y))}`)
      .join(' ');
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${d}"/>`,
    );
    const ly = mt + ph + 56 + 18 * i;
    parts.push(
      `<line x1="${ml}" y1="${ly - 4}" x2="${ml + 28}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
    );
    parts.push(`<text x="${ml + 36}" y="${ly}">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
