/**
 * The Log Console's HTTP API (TClouds D2.2.1, ch. 11: the one public access interface, mediating every access).
 * Every request carries `Authorization: Bearer <JWT>` (tokens.ts); the grant decides what it may do
 * (protocol/access.ts):
 *
 *   POST /v1/entries   {"entries":[{"type","msg"}], "seal"?: true}  producer: appended through the core (f+1
 *                      replies), cloud and node stamped from the token -> {"first","count","size"}
 *   GET  /v1/entries?since&until&cloud&node&type&text&from&limit    readers: verified entries the grant may see
 *                      -> {"entries","matched","truncated","size","head"}
 *   GET  /v1/head      readers: the verified tree head (signed by f+1 core replicas)
 *
 * Reads are served only from what verified (f+1 replicas' signatures and forward-integrity MACs, Merkle root,
 * chain): the console has no path to storage that skips the core's authenticators, and no write path to
 * storage at all. Errors: {"error":{"code","message","hint"}} with 401 (TC457), 403 (TC458), 400 (TC451/TC456).
 */
import type http from 'node:http';
import { z } from 'zod';
import { ExitCode, isTcError, TcError } from '../../kernel/errors.js';
import { LogCode } from './codes.js';
import { MAX_BATCH_ENTRIES, MAX_CONSOLE_BODY_BYTES, MAX_MESSAGE_LENGTH, MAX_NAME_LENGTH } from './limits.js';
import { type Grant, refuseAction, visible } from './protocol/access.js';
import type { Entry, EntryInput } from './protocol/entry.js';
import { QuerySchema, runQuery } from './protocol/query.js';
import type { TreeHead } from './protocol/segment.js';

export interface ConsoleDeps {
  checkToken(token: string): Promise<Grant>;
  append(
    entries: EntryInput[],
    onBehalf: string,
    seal: boolean,
  ): Promise<{ first: number; count: number; size: number }>;
  /** The verified log (refreshed from storage when stale). */
  verified(): Promise<{ entries: readonly Entry[]; head: TreeHead | null }>;
  jurisdictions: Readonly<Record<string, string>>;
}

const ProducerBodySchema = z.strictObject({
  entries: z
    .array(
      z.strictObject({
        type: z
          .string()
          .min(1)
          .max(MAX_NAME_LENGTH)
          .regex(/^[\w.:@/-]+$/),
        msg: z.string().max(MAX_MESSAGE_LENGTH),
      }),
    )
    .min(1)
    .max(MAX_BATCH_ENTRIES),
  seal: z.boolean().optional(),
});

const STATUS: Record<string, number> = {
  [LogCode.unauthorized]: 401,
  [LogCode.forbidden]: 403,
  [LogCode.badEntry]: 400,
  [LogCode.badQuery]: 400,
  [LogCode.storage]: 503,
  [LogCode.noRoute]: 404,
};

export async function handleConsole(
  deps: ConsoleDeps,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  try {
    const grant = await authenticate(deps, req);
    const url = new URL(req.url ?? '/', 'http://console');
    let body: unknown;
    if (req.method === 'POST' && url.pathname === '/v1/entries') body = await append(deps, grant, await readJson(req));
    else if (req.method === 'GET' && url.pathname === '/v1/entries') body = await query(deps, grant, url.searchParams);
    else if (req.method === 'GET' && url.pathname === '/v1/head') body = await head(deps, grant);
    else throw new TcError(LogCode.noRoute, `no route ${req.method} ${url.pathname}`, { exit: ExitCode.notFound });
    send(res, 200, body);
  } catch (e) {
    const err = isTcError(e) ? e : new TcError(LogCode.storage, (e as Error).message, { exit: ExitCode.failure });
    const status = STATUS[err.code] ?? 500;
    send(res, status, { error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } });
  }
}

async function authenticate(deps: ConsoleDeps, req: http.IncomingMessage): Promise<Grant> {
  const m = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(req.headers.authorization ?? '');
  if (!m) {
    throw new TcError(LogCode.unauthorized, 'no bearer token', {
      exit: ExitCode.invalid,
      hint: 'send Authorization: Bearer <token from `tclouds log token`>',
    });
  }
  return deps.checkToken(m[1] as string);
}

function forbid(g: Grant, action: 'append' | 'read'): void {
  const why = refuseAction(g, action);
  if (why) throw new TcError(LogCode.forbidden, why, { exit: ExitCode.invalid });
}

async function append(deps: ConsoleDeps, g: Grant, raw: unknown) {
  forbid(g, 'append');
  const r = ProducerBodySchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new TcError(LogCode.badEntry, `body: ${i?.path.join('.') || 'body'}: ${i?.message}`, {
      exit: ExitCode.invalid,
      hint: '{"entries":[{"type":"...","msg":"..."}]}; cloud and node come from the token',
    });
  }
  const entries = r.data.entries.map((e) => ({
    cloud: g.cloud as string,
    node: g.node as string,
    type: e.type,
    msg: e.msg,
  }));
  return deps.append(entries, g.sub, r.data.seal ?? false);
}

async function query(deps: ConsoleDeps, g: Grant, params: URLSearchParams) {
  forbid(g, 'read');
  const raw: Record<string, unknown> = {};
  for (const [k, v] of params) raw[k] = ['since', 'until', 'from', 'limit'].includes(k) ? Number(v) : v;
  const q = QuerySchema.safeParse(raw);
  if (!q.success) {
    const i = q.error.issues[0];
    throw new TcError(LogCode.badQuery, `query: ${i?.path.join('.')}: ${i?.message}`, { exit: ExitCode.invalid });
  }
  const v = await deps.verified();
  const r = runQuery(q.data, v.entries, (e) => visible(g, e, deps.jurisdictions));
  return { ...r, size: v.entries.length, head: v.head };
}

async function head(deps: ConsoleDeps, g: Grant) {
  forbid(g, 'read');
  const v = await deps.verified();
  return { size: v.entries.length, head: v.head };
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_CONSOLE_BODY_BYTES) {
      throw new TcError(LogCode.badEntry, `body over ${MAX_CONSOLE_BODY_BYTES} bytes`, { exit: ExitCode.invalid });
    }
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new TcError(LogCode.badEntry, 'body is not JSON', { exit: ExitCode.invalid });
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
