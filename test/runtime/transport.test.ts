/**
 * The authenticated transport on real loopback sockets: delivery, coalescing, and the hostile cases
 * (unknown identity, wrong key, tampered bytes, oversized and garbage frames, partitions, peer restart).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { generateNodeKey } from '../../runtime/keys.js';
import { nullLogger } from '../../runtime/logger.js';
import { MetricsRegistry } from '../../runtime/metrics.js';
import { Transport } from '../../runtime/transport.js';

const HOST = '127.0.0.1';
const open: Transport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

function node(id: string, key = generateNodeKey()) {
  return { id, key, metrics: new MetricsRegistry(), got: [] as { from: string; msg: string }[] };
}
type N = ReturnType<typeof node>;

async function listen(n: N, peers: N[], port = 0): Promise<Transport> {
  const t = new Transport({
    name: 'peer',
    stack: 's',
    selfId: n.id,
    privateKey: n.key.privateKey,
    listen: { host: HOST, port },
    accept: (id) => peers.find((p) => p.id === id)?.key.publicKey,
    metrics: n.metrics,
    log: nullLogger,
    onMessage: (from, msg) => n.got.push({ from, msg: msg.toString() }),
  });
  await t.start();
  open.push(t);
  return t;
}

async function dial(
  n: N,
  to: N,
  port: number,
  publicKey = to.key.publicKey,
  opts: { maxFrameBytes?: number; onDisconnect?: (id: string) => void; flush?: 'turn' | 'event' } = {},
): Promise<Transport> {
  const t = new Transport({
    name: 'peer',
    stack: 's',
    selfId: n.id,
    privateKey: n.key.privateKey,
    dial: [{ id: to.id, host: HOST, port, publicKey }],
    metrics: n.metrics,
    log: nullLogger,
    onMessage: (from, msg) => n.got.push({ from, msg: msg.toString() }),
    ...opts,
  });
  await t.start();
  open.push(t);
  return t;
}

/** Until `cond` holds; `ms` is a deadline for what never happens, generous for a loaded machine. */
async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const dropped = (n: N, reason: string) =>
  n.metrics.value('tclouds_transport_frames_dropped_total', { transport: 'peer', reason });

describe('transport', () => {
  it('binds who dialled whom into the handshake: a reflected CHALLENGE does not verify', async () => {
    // Node A listens (accepting X) and, in a second transport, dials X. Neither alone dials and accepts X, so the
    // wrong-direction rule does not apply: only the transcript (initiator, responder, nonces) stops the attacker,
    // who holds no key and relays A's own HELLO and CHALLENGE between A's two transports.
    const a = node('a');
    const x = node('x');
    const inbound = await listen(a, [x]);
    const relay = net.createServer((fromA) => {
      fromA.on('error', () => {});
      fromA.once('data', (hello: Buffer) => {
        const body = hello.subarray(4);
        const fl = body[1]!;
        const nonce = body.subarray(3 + fl + body[2 + fl]!);
        const forged = Buffer.concat([
          Buffer.from([4, 1]),
          Buffer.from('x'),
          Buffer.from([1]),
          Buffer.from('a'),
          nonce,
        ]);
        const head = Buffer.alloc(4);
        head.writeUInt32BE(forged.length, 0);
        const toA = net.connect({ host: HOST, port: inbound.address!.port }, () =>
          toA.write(Buffer.concat([head, forged])),
        );
        toA.on('error', () => {});
        toA.on('data', (d) => fromA.write(d));
        fromA.on('data', (d) => toA.write(d));
      });
    });
    await new Promise<void>((r) => relay.listen({ host: HOST, port: 0 }, r));
    try {
      const outbound = await dial(a, x, (relay.address() as net.AddressInfo).port);
      await until(() => dropped(a, 'unauthenticated') >= 1);
      expect(outbound.isConnected('x')).toBe(false);
      expect(inbound.isConnected('x')).toBe(false);
    } finally {
      await new Promise<void>((r) => relay.close(() => r()));
    }
  });

  it('authenticates both ends and delivers messages in order, both directions, coalesced into few frames', async () => {
    const a = node('a');
    const b = node('b');
    const tb = await listen(b, [a]);
    const ta = await dial(a, b, tb.address!.port);
    await until(() => ta.isConnected('b') && tb.isConnected('a'));
    for (let i = 0; i < 500; i++) ta.send('b', Buffer.from(`m${i}`));
    tb.send('a', Buffer.from('back'));
    await until(() => b.got.length === 500 && a.got.length === 1);
    expect(b.got.map((g) => g.msg)).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
    expect(b.got.every((g) => g.from === 'a')).toBe(true);
    expect(a.got[0]).toEqual({ from: 'b', msg: 'back' });
    expect(a.metrics.value('tclouds_transport_frames_sent_total', { transport: 'peer' })).toBeLessThan(20);
  });

  it("with flush 'event', writes an event's sends as one frame before the turn's immediates run", async () => {
    const a = node('a');
    const b = node('b');
    const tb = await listen(b, [a]);
    const ta = await dial(a, b, tb.address!.port, b.key.publicKey, { flush: 'event' });
    await until(() => ta.isConnected('b') && tb.isConnected('a'));
    const frames = () => a.metrics.value('tclouds_transport_frames_sent_total', { transport: 'peer' });
    const before = frames();
    let atImmediate = -1;
    setImmediate(() => {
      atImmediate = frames();
    });
    for (let i = 0; i < 50; i++) ta.send('b', Buffer.from(`e${i}`));
    await until(() => b.got.length === 50);
    expect(atImmediate).toBe(before + 1);
    expect(frames()).toBe(before + 1);
    expect(b.got.map((g) => g.msg)).toEqual(Array.from({ length: 50 }, (_, i) => `e${i}`));
  });

  it('flushNow writes what is queued at once, as one frame', async () => {
    const a = node('a');
    const b = node('b');
    const tb = await listen(b, [a]);
    const ta = await dial(a, b, tb.address!.port);
    await until(() => ta.isConnected('b') && tb.isConnected('a'));
    const frames = () => a.metrics.value('tclouds_transport_frames_sent_total', { transport: 'peer' });
    const before = frames();
    for (let i = 0; i < 10; i++) ta.send('b', Buffer.from(`n${i}`));
    ta.flushNow();
    expect(frames()).toBe(before + 1);
    await until(() => b.got.length === 10);
    expect(frames()).toBe(before + 1);
  });

  it('refuses unknown identities and keys that do not match the claimed id', async () => {
    const a = node('a');
    const b = node('b');
    const mallory = node('a'); // claims to be a, holds another key
    const tb = await listen(b, [a]);
    await dial(node('stranger'), b, tb.address!.port);
    const tm = await dial(mallory, b, tb.address!.port);
    await until(
      () =>
        dropped(b, 'unknown_peer') >= 1 &&
        (dropped(b, 'unauthenticated') >= 1 || dropped(mallory, 'unauthenticated') >= 1),
    );
    expect(tm.isConnected('b')).toBe(false);
    expect(tb.connectedIds()).toEqual([]);
  });

  it('drops oversized and garbage frames and tampered bytes without crashing; the link recovers', async () => {
    const a = node('a');
    const b = node('b');
    const tb = await listen(b, [a]);
    // Garbage and an oversized length header from a raw socket.
    for (const bytes of [Buffer.from([0, 0, 0, 5, 9, 9, 9, 9, 9]), Buffer.from([0xff, 0xff, 0xff, 0xff])]) {
      const s = net.connect(tb.address!.port, HOST);
      s.on('error', () => {});
      s.write(bytes);
    }
    await until(() => dropped(b, 'malformed') >= 1 && dropped(b, 'oversized') >= 1);
    // A proxy that flips one byte of the 10th chunk it forwards (after the handshake).
    let chunks = 0;
    const proxy = net.createServer((c) => {
      const up = net.connect(tb.address!.port, HOST);
      c.on('error', () => {});
      up.on('error', () => {});
      c.on('data', (d) => {
        chunks++;
        if (chunks === 10) d[d.length - 1]! ^= 1;
        up.write(d);
      });
      up.pipe(c);
      c.on('close', () => up.destroy());
      up.on('close', () => c.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, HOST, () => r()));
    const ta = await dial(a, b, (proxy.address() as net.AddressInfo).port);
    await until(() => ta.isConnected('b'));
    for (let i = 0; i < 30; i++) {
      ta.send('b', Buffer.from(`x${i}`));
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => dropped(b, 'unauthenticated') >= 1);
    // Re-dialled after the bad frame: later messages arrive again, and nothing tampered was delivered.
    await until(() => ta.isConnected('b'));
    ta.send('b', Buffer.from('after'));
    await until(() => b.got.some((g) => g.msg === 'after'));
    expect(b.got.every((g) => /^x\d+$|^after$/.test(g.msg))).toBe(true);
    proxy.close();
  });

  it('partitions refuse traffic in both directions until healed', async () => {
    const a = node('a');
    const b = node('b');
    const tb = await listen(b, [a]);
    const ta = await dial(a, b, tb.address!.port);
    await until(() => ta.isConnected('b') && tb.isConnected('a'));
    tb.block(['a']);
    expect(tb.send('a', Buffer.from('no'))).toBe(false);
    ta.send('b', Buffer.from('blocked'));
    await until(() => dropped(b, 'partitioned') >= 2);
    tb.heal();
    ta.send('b', Buffer.from('healed'));
    await until(() => b.got.some((g) => g.msg === 'healed'));
    expect(b.got.map((g) => g.msg)).toEqual(['healed']);
    expect(a.got).toEqual([]);
  });

  it('re-dials a peer that restarts, and reports the lost connection once', async () => {
    const a = node('a');
    const b = node('b');
    const tb = await listen(b, [a]);
    const port = tb.address!.port;
    const lost: string[] = [];
    const ta = await dial(a, b, port, undefined, { onDisconnect: (id) => lost.push(id) });
    await until(() => ta.isConnected('b'));
    expect(lost).toEqual([]);
    await tb.close();
    await until(() => !ta.isConnected('b'));
    expect(lost).toEqual(['b']);
    const tb2 = await listen(b, [a], port);
    await until(() => ta.isConnected('b') && tb2.isConnected('a'));
    ta.send('b', Buffer.from('again'));
    await until(() => b.got.some((g) => g.msg === 'again'));
  });
});
