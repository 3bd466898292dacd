/**
 * What changes in a node when a deploy rewrites its spec: the fields before and after, for `plan` to show and for
 * the rollout to say why it restarts a node. Pure. A spec holds no secrets (keys and tokens are file paths), so
 * values are shown as they are, cut to a readable length.
 */
import type { NodeSpec } from '../../runtime/node-spec.js';
import type { FieldChange } from '../realizer.js';

/** Longest value shown: a peer list or a key set is summarised rather than printed whole. */
export const MAX_VALUE_CHARS = 48;

/** Objects are compared field by field down to this depth; deeper values are compared whole. */
const MAX_DEPTH = 3;

/** Fields whose change says nothing a reader needs: they follow from others (the public key from the key file). */
const DERIVED_FIELDS = new Set(['publicKey']);

export function specChanges(before: Readonly<NodeSpec> | undefined, after: Readonly<NodeSpec>): FieldChange[] {
  if (!before) return [];
  const out: FieldChange[] = [];
  diff(before as unknown as Record<string, unknown>, after as unknown as Record<string, unknown>, '', 0, out);
  return out.filter((c) => !DERIVED_FIELDS.has(c.field));
}

function diff(a: unknown, b: unknown, at: string, depth: number, out: FieldChange[]): void {
  if (isRecord(a) && isRecord(b) && depth < MAX_DEPTH) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      diff(a[key], b[key], at ? `${at}.${key}` : key, depth + 1, out);
    }
    return;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  out.push({
    field: at,
    ...(a === undefined ? {} : { before: show(a) }),
    ...(b === undefined ? {} : { after: show(b) }),
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as one short line: arrays by their length when long, strings without quotes. */
export function show(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  if (text.length <= MAX_VALUE_CHARS) return text;
  if (Array.isArray(v)) return `[${v.length} entries]`;
  return `${text.slice(0, MAX_VALUE_CHARS - 3)}...`;
}

/** `config.batchSize 64 -> 128`, `peers [3 entries] -> [4 entries]`, `config.x (new) 5`. */
export function changeText(c: FieldChange): string {
  if (c.before === undefined) return `${c.field} (new) ${c.after}`;
  if (c.after === undefined) return `${c.field} (removed, was ${c.before})`;
  return `${c.field} ${c.before} -> ${c.after}`;
}
