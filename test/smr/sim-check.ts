/**
 * The simulator's linearizability check: client results against a sequential KV model, with the agreed execution
 * order as the witness.
 */
import { applyKv, type KvOp } from '../../components/smr/services/kv.js';

/** One client operation as the client saw it: invoked and answered (tick numbers; respond -1 while pending). */
export interface HistOp {
  client: string;
  op: KvOp;
  readOnly: boolean;
  invoke: number;
  respond: number;
  result?: string;
  seq?: number;
}

/**
 * Linearizability against the sequential KV model, with the agreed execution order as the witness:
 * ordered ops must appear in the log in an order that respects real time, their results must equal the model's
 * at their position; read-only results must equal the model state at some prefix inside the op's interval.
 */
export function checkLinearizable(
  history: HistOp[],
  canon: Map<number, readonly { client: string; seq: number }[]>,
  fail: (m: string) => void,
): void {
  const pos = new Map<string, number>();
  const order: string[] = [];
  const cids = [...canon.keys()].sort((a, b) => a - b);
  for (let i = 0; i < cids.length; i++)
    if (cids[i] !== i) {
      fail(`log has a gap at cid ${i}`);
      return;
    }
  for (const cid of cids)
    for (const r of canon.get(cid)!) {
      pos.set(`${r.client}:${r.seq}`, order.length);
      order.push(`${r.client}:${r.seq}`);
    }
  const byId = new Map<string, HistOp>();
  for (const h of history) if (!h.readOnly && h.seq !== undefined) byId.set(`${h.client}:${h.seq}`, h);
  // Replay the log against the model; record state snapshots per key after each prefix.
  const model = new Map<string, string>();
  const states: Map<string, string>[] = [new Map(model)];
  for (let i = 0; i < order.length; i++) {
    const h = byId.get(order[i]!);
    if (!h) {
      fail(`log entry ${order[i]} has no client op`);
      return;
    }
    const expect = JSON.stringify(applyKv(model, h.op));
    if (h.respond >= 0 && h.result !== expect)
      fail(`linearizability: ${order[i]} ${JSON.stringify(h.op)} returned ${h.result}, model says ${expect}`);
    states.push(new Map(model));
  }
  for (const h of history) {
    if (h.respond < 0 || h.readOnly) continue;
    const p = pos.get(`${h.client}:${h.seq}`);
    if (p === undefined) fail(`linearizability: completed op ${h.client}:${h.seq} not in the agreed log`);
  }
  // Real-time order: an op that completed before another was invoked precedes it.
  const done = history.filter((h) => !h.readOnly && h.respond >= 0 && h.seq !== undefined);
  for (const a of done)
    for (const b of done) {
      if (a.respond < b.invoke && pos.get(`${a.client}:${a.seq}`)! > pos.get(`${b.client}:${b.seq}`)!) {
        fail(
          `linearizability: ${a.client}:${a.seq} completed before ${b.client}:${b.seq} began but was ordered after it`,
        );
      }
    }
  for (const h of history) {
    if (!h.readOnly || h.respond < 0) continue;
    // Earliest prefix: every ordered op that completed before the read began. Latest: ops invoked before it ended.
    let lo = 0;
    let hi = 0;
    for (const d of history) {
      if (d.readOnly || d.seq === undefined) continue;
      const p = pos.get(`${d.client}:${d.seq}`);
      if (p === undefined) continue;
      if (d.respond >= 0 && d.respond < h.invoke) lo = Math.max(lo, p + 1);
      if (d.invoke <= h.respond) hi = Math.max(hi, p + 1);
    }
    let ok = false;
    for (let k = lo; k <= Math.min(hi, order.length) && !ok; k++) {
      if (JSON.stringify(applyKv(new Map(states[k]!), h.op)) === h.result) ok = true;
    }
    if (!ok)
      fail(
        `linearizability: read-only ${h.client} ${JSON.stringify(h.op)} returned ${h.result}, no state in [${lo}, ${hi}] matches`,
      );
  }
}
