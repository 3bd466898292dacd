/**
 * One outgoing HTTP call of a Task, made by the replica chosen for it: the request the definition built, with the
 * call id as `Idempotency-Key` so a service that honours the key performs it once however many replicas send it.
 * Never throws: every failure becomes an outcome the engines order (States.Timeout, States.Http.Socket).
 */
import type { CallOutcome, CallRequest } from './engine/types.js';
import { MAX_RESPONSE_BYTES } from './limits.js';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

export async function makeCall(id: string, req: CallRequest, timeoutMs: number): Promise<CallOutcome> {
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: { ...req.headers, [IDEMPOTENCY_HEADER]: id },
      ...(req.body === undefined || req.method === 'GET' || req.method === 'HEAD' ? {} : { body: req.body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await readBounded(res);
    if (body === undefined) {
      return { ok: false, error: 'States.TaskFailed', cause: `response over ${MAX_RESPONSE_BYTES} bytes` };
    }
    const headers: Record<string, string> = {};
    for (const k of ['content-type', 'location', 'etag']) {
      const v = res.headers.get(k);
      if (v !== null) headers[k] = v;
    }
    return { ok: true, status: res.status, statusText: res.statusText, headers, body };
  } catch (e) {
    const err = e as Error;
    if (err.name === 'TimeoutError')
      return { ok: false, error: 'States.Timeout', cause: `no response in ${timeoutMs} ms` };
    const cause = (err.cause as Error | undefined)?.message ?? err.message;
    return { ok: false, error: 'States.Http.Socket', cause: `${req.method} ${req.url}: ${cause}` };
  }
}

async function readBounded(res: Response): Promise<string | undefined> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
