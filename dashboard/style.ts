/**
 * Terminal styling that respects the user: color only on a TTY, never when NO_COLOR is set
 * (https://no-color.org) or when TERM=dumb. FORCE_COLOR=1 turns it on for tests and pipes.
 */
import { styleText } from 'node:util';

type Style = Parameters<typeof styleText>[0];

export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  const env = process.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return Boolean(stream.isTTY);
}

function paint(style: Style, text: string, stream?: NodeJS.WriteStream): string {
  return colorEnabled(stream) ? styleText(style, text, { validateStream: false }) : text;
}

export const style = {
  red: (t: string, s?: NodeJS.WriteStream) => paint('red', t, s),
  green: (t: string, s?: NodeJS.WriteStream) => paint('green', t, s),
  yellow: (t: string, s?: NodeJS.WriteStream) => paint('yellow', t, s),
  cyan: (t: string, s?: NodeJS.WriteStream) => paint('cyan', t, s),
  dim: (t: string, s?: NodeJS.WriteStream) => paint('dim', t, s),
  bold: (t: string, s?: NodeJS.WriteStream) => paint('bold', t, s),
};

/** Render rows as an aligned plain-text table (no color codes inside cells, so widths stay right). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
