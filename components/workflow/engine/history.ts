/** The history of an execution: every state entered and left, every call and its attempts, bounded. */
import type { Json } from '../asl/json.js';
import { MAX_HISTORY_EVENTS } from '../limits.js';
import type { Execution, HistoryEvent } from './types.js';

export function record(
  exec: Execution,
  at: number,
  type: string,
  fields: { frame?: string; state?: string; call?: string; detail?: Json } = {},
): void {
  exec.events++;
  if (exec.history.length >= MAX_HISTORY_EVENTS) {
    exec.historyTruncated = true;
    return;
  }
  const e: HistoryEvent = { n: exec.events, at, type };
  if (fields.frame !== undefined) e.frame = fields.frame;
  if (fields.state !== undefined) e.state = fields.state;
  if (fields.call !== undefined) e.call = fields.call;
  if (fields.detail !== undefined) e.detail = fields.detail;
  exec.history.push(e);
}
