/**
 * A node's last log lines as the dashboard's details view shows them (local target: the node's own log file).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Last `lines` lines of a node's log (local target: `<stackDir>/nodes/<id>/node.log`), reading at most 64 KiB. */
export async function tailNodeLog(stackDir: string, nodeId: string, lines = 8): Promise<string[]> {
  const file = path.join(stackDir, 'nodes', nodeId, 'node.log');
  const handle = await fs.open(file, 'r').catch(() => null);
  if (!handle) return [];
  try {
    const { size } = await handle.stat();
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    await handle.read(buf, 0, len, size - len);
    const all = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    return all.slice(-lines).map(formatLogLine);
  } finally {
    await handle.close();
  }
}

/** A JSON log line as `HH:MM:SS level msg k=v`; other lines unchanged. */
export function formatLogLine(line: string): string {
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const { time, ts, level, msg, ...rest } = o;
    const t = typeof (time ?? ts) === 'string' ? String(time ?? ts).slice(11, 19) : '';
    const fields = Object.entries(rest)
      .filter(([k]) => !['pid', 'hostname', 'node', 'component'].includes(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return [t, level, msg, fields].filter((x) => x !== undefined && x !== '').join(' ');
  } catch {
    return line;
  }
}
