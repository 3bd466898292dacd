/**
 * Row model of the deploy progress (plain TypeScript, no Ink): shared by the Ink view (deploy-progress.tsx)
 * and the plain-line output of non-TTY runs, so both say the same thing.
 */
import type { DeployEvent } from '../stacks/realizer.js';

export interface ProgressRow {
  key: string;
  kind: DeployEvent['kind'];
  id: string;
  type?: string;
  state: DeployEvent['state'];
  op?: DeployEvent['op'];
  message?: string;
  startedAt: number;
  /** Set when the row reached a final state. */
  elapsedMs?: number;
}

const FINAL: ReadonlySet<DeployEvent['state']> = new Set(['done', 'unchanged', 'failed', 'deleted']);

/** Rows in arrival order: `completed` is append-only (what <Static> needs), `live` are the rows still moving. */
export class ProgressModel {
  readonly completed: ProgressRow[] = [];
  private readonly live = new Map<string, ProgressRow>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Apply an event; returns the row when it just reached a final state. */
  apply(e: DeployEvent): ProgressRow | undefined {
    const key = `${e.kind}:${e.id}`;
    const now = this.clock();
    const row: ProgressRow = this.live.get(key) ?? { key, kind: e.kind, id: e.id, state: e.state, startedAt: now };
    row.state = e.state;
    if (e.type !== undefined) row.type = e.type;
    if (e.op !== undefined) row.op = e.op;
    if (e.message !== undefined) row.message = e.message;
    if (FINAL.has(e.state)) {
      this.live.delete(key);
      row.elapsedMs = e.elapsedMs ?? now - row.startedAt;
      this.completed.push(row);
      return row;
    }
    this.live.set(key, row);
    return undefined;
  }

  liveRows(): ProgressRow[] {
    return [...this.live.values()];
  }

  counts(): Record<DeployEvent['state'], number> {
    const c = { pending: 0, running: 0, done: 0, unchanged: 0, failed: 0, deleted: 0 };
    for (const r of this.completed) c[r.state]++;
    for (const r of this.live.values()) c[r.state]++;
    return c;
  }
}

const SYMBOL: Record<DeployEvent['state'], string> = {
  pending: '·',
  running: '…',
  done: '✓',
  unchanged: '=',
  failed: '✗',
  deleted: '-',
};

export const COLOR: Partial<Record<DeployEvent['state'], string>> = {
  done: 'green',
  failed: 'red',
  running: 'cyan',
  deleted: 'yellow',
  unchanged: 'gray',
};

export function formatElapsed(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))}ms` : `${(ms / 1000).toFixed(1)}s`;
}

function verb(row: ProgressRow): string {
  if (row.state === 'unchanged') return 'unchanged';
  if (row.state === 'deleted') return 'deleted';
  if (row.state === 'failed') return 'failed';
  if (row.state === 'pending') return 'pending';
  if (row.state === 'running') return row.op === 'delete' ? 'deleting' : row.op === 'update' ? 'updating' : 'creating';
  return row.op === 'update'
    ? 'updated'
    : row.op === 'replace'
      ? 'replaced'
      : row.op === 'delete'
        ? 'deleted'
        : 'created';
}

/** One row as plain text (no color), the same in Ink and plain mode: `✓ node  ledger-replica-0  created  127.1.0.1  (1.2s)`. */
export function formatRow(row: ProgressRow, now: number, idWidth = 0, whatWidth = 0): string {
  const elapsed = row.elapsedMs ?? now - row.startedAt;
  const what = rowWhat(row);
  // Log rows are messages, not resources: no verb.
  const parts = [SYMBOL[row.state], what.padEnd(whatWidth), row.id.padEnd(idWidth)];
  if (row.kind !== 'log') parts.push(verb(row));
  if (row.message) parts.push(row.message);
  parts.push(`(${formatElapsed(elapsed)})`);
  return parts.join('  ');
}

/** The "what" column of a row: `node`, the resource type, or `log`. */
export function rowWhat(row: ProgressRow): string {
  return row.kind === 'node' ? 'node' : row.kind === 'resource' ? (row.type ?? 'resource') : 'log';
}
