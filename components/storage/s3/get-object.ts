/**
 * GetObject, streamed: the DepSky read verifies segment after segment and each goes out as soon as it is
 * verified, so the client receives data while later segments are still being fetched and the gateway never holds
 * a whole object. The version and size are known before the first byte (they come from the signed metadata), so
 * they go out as headers. A failure after the headers went out breaks the connection (handleS3), so a client
 * never takes a short body for a whole one.
 */
import { Writable } from 'node:stream';
import type { ReadHead } from '../client.js';
import { requireKey, type S3Call, type S3Gateway } from './context.js';
import { toS3Error } from './errors.js';
import { duOf, objectHeaders, parseRange } from './objects.js';

/**
 * The bytes [first, last) of what is written to it, passed on to `res`. A write is called back only once `res`
 * handed its bytes to the socket (the kernel has them), or the client went away: the reader then reuses that
 * memory for a later segment (getToStream's `flushed`), and one segment at a time in the socket's hands is the
 * backpressure. `done` fires once the window is complete, so a Range read can stop fetching the segments after it.
 */
class ResponseWindow extends Writable {
  private pos = 0;
  first = 0;
  last = Number.POSITIVE_INFINITY;

  constructor(
    private readonly res: Writable,
    private readonly done: () => void,
  ) {
    super();
  }

  get complete(): boolean {
    return this.pos >= this.last;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const from = Math.max(this.first - this.pos, 0);
    const to = Math.min(this.last - this.pos, chunk.length);
    this.pos += chunk.length;
    if (this.complete) this.done();
    if (to <= from) return void cb();
    // A client that goes away while its socket is full never takes the bytes: the close ends the wait (and the
    // read). Once the socket closed it reads nothing more from this memory.
    let settled = false;
    const settle = (e?: Error | null) => {
      if (settled) return;
      settled = true;
      this.res.off('close', onClose);
      cb(e);
    };
    const onClose = () => settle(new Error('the client closed the connection'));
    this.res.once('close', onClose);
    this.res.write(chunk.subarray(from, to), settle);
  }
}

export async function getObject(gw: S3Gateway, call: S3Call): Promise<void> {
  const key = requireKey(call);
  const du = duOf(gw, call.bucket!, key);
  const stop = new AbortController();
  const window = new ResponseWindow(call.res, () => stop.abort(new Error('range complete')));
  // A write that fails (the client went away) is called back with the error and then emitted as 'error': the read
  // learns it from the first, on every path; the second must not end the gateway.
  window.on('error', () => {});
  // A client that goes away stops the read: no cloud keeps serving segments nobody will receive.
  const gone = () => stop.abort(new Error('the client closed the connection'));
  call.res.once('close', gone);
  let length = 0;
  const head = (h: ReadHead) => {
    const range = call.req.headers.range ? parseRange(call.req.headers.range, h.size) : undefined;
    window.first = range?.start ?? 0;
    window.last = range?.end ?? h.size;
    length = window.last - window.first;
    call.res.writeHead(range ? 206 : 200, {
      ...objectHeaders(du, h.version, length),
      'x-amz-request-id': call.requestId,
      ...(range ? { 'content-range': `bytes ${window.first}-${window.last - 1}/${h.size}` } : {}),
    });
  };
  try {
    await gw.client.getToStream(du, window, { signal: stop.signal, head, flushed: true });
  } catch (e) {
    if (!(window.complete && stop.signal.aborted)) throw toS3Error(e, key);
  } finally {
    call.res.off('close', gone);
  }
  call.res.end();
  gw.onBytes('out', length);
}
