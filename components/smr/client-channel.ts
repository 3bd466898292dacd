/**
 * The client-facing side of an SMR node (a replica, or the benchmark's unreplicated baseline): the transport on its
 * client port, which accepts only the client identities its spec lists, and the way replies leave it.
 */
import type { RoleContext } from '../../runtime/role.js';
import { Transport } from '../../runtime/transport.js';
import { clientBase, encodeRepliesChunked, type ReplyEntry } from './wire.js';

/** The client-facing transport of a node: its client port, accepting only the clients its spec lists. */
export function clientTransport(ctx: RoleContext, onMessage: (from: string, buf: Buffer) => void): Transport {
  const { spec, metrics, log } = ctx;
  return new Transport({
    name: 'client',
    stack: spec.stack,
    selfId: spec.id,
    privateKey: ctx.privateKey,
    listen: { host: spec.host, port: spec.ports.client! },
    accept: (id) => spec.clients[id],
    // Replies leave at the end of the event that made them, not behind the peer messages the same turn queued
    // (a replica that decides on a peer's ACCEPT has usually just queued its own ACCEPTs, which no client waits
    // for). Measured on bench/workflow.ts (replicated, alternated runs at load 15-21): sequential echo p50 7.04 /
    // 3.94 / 4.34 / 3.37 -> 2.90 / 3.11 / 4.08 / 2.40 ms, 5.6-5.9 -> 4.8-5.0 voluntary context switches per request
    // at each replica; 50 clients 1,634 / 1,519 -> 1,876 / 1,917 echo/s, web service 265 / 496 -> 297 / 334/s.
    flush: 'event',
    blocked: ctx.partitioned,
    metrics,
    log,
    onMessage,
  });
}

/** The replies of one step: one message per client identity (almost always a single one), in bounded chunks. */
export function sendReplies(t: Transport, replies: readonly ReplyEntry[], regency: number): void {
  const byBase = new Map<string, ReplyEntry[]>();
  for (const r of replies) {
    const b = clientBase(r.client);
    const list = byBase.get(b);
    if (list) list.push(r);
    else byBase.set(b, [r]);
  }
  for (const [base, list] of byBase) for (const msg of encodeRepliesChunked(list, regency)) t.send(base, msg);
}
