import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HmacSha256Key } from '../../runtime/hmac-sha256.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('HmacSha256Key', () => {
  // RFC 4231 test cases 1, 2, 4, 6 and 7 (HMAC-SHA-256 column): short, long and longer-than-a-block keys.
  const vectors: [string, string, string][] = [
    [
      '0b'.repeat(20),
      Buffer.from('Hi There').toString('hex'),
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    ],
    [
      Buffer.from('Jefe').toString('hex'),
      Buffer.from('what do ya want for nothing?').toString('hex'),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    ],
    [
      '0102030405060708090a0b0c0d0e0f10111213141516171819',
      'cd'.repeat(50),
      '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    ],
    [
      'aa'.repeat(131),
      Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First').toString('hex'),
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    ],
    [
      'aa'.repeat(131),
      Buffer.from(
        'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      ).toString('hex'),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    ],
  ];

  it.each(vectors)('matches RFC 4231 (key %s)', (key, data, tag) => {
    expect(hex(new HmacSha256Key(Buffer.from(key, 'hex')).mac(Buffer.from(data, 'hex')))).toBe(tag);
  });

  it('matches node:crypto at every length around the block and path boundaries', () => {
    const key = randomBytes(32);
    const k = new HmacSha256Key(key);
    for (let len = 0; len <= 400; len++) {
      const msg = randomBytes(len);
      expect(hex(k.mac(msg)), `length ${len}`).toBe(createHmac('sha256', key).update(msg).digest('hex'));
    }
  });

  it('matches node:crypto for random keys, messages, views and output offsets', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 100 }),
        fc.uint8Array({ minLength: 0, maxLength: 700 }),
        fc.nat(40),
        fc.nat(40),
        (key, data, start, at) => {
          const s = Math.min(start, data.length);
          const msg = data.subarray(s); // a view into a larger buffer, not at offset 0
          const out = new Uint8Array(at + 32 + 5).fill(7);
          new HmacSha256Key(key).mac(msg, out, at);
          expect(hex(out.subarray(at, at + 32))).toBe(createHmac('sha256', Buffer.from(key)).update(msg).digest('hex'));
          expect([...out.subarray(0, at), ...out.subarray(at + 32)].every((b) => b === 7)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('truncated tags are the first bytes of the full tag, written without touching the bytes after them', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 0, maxLength: 400 }), // both sides of the 256-byte JS/node:crypto switch
        fc.constantFrom(4, 16, 28),
        (key, msg, length) => {
          const out = new Uint8Array(length + 8).fill(7);
          new HmacSha256Key(key).mac(msg, out, 4, length);
          const full = createHmac('sha256', Buffer.from(key)).update(msg).digest('hex');
          expect(hex(out.subarray(4, 4 + length))).toBe(full.slice(0, 2 * length));
          expect([...out.subarray(0, 4), ...out.subarray(4 + length)].every((b) => b === 7)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
    expect(new HmacSha256Key(Buffer.from('k')).mac(Buffer.from('m'), undefined, 0, 16).length).toBe(16);
    expect(() => new HmacSha256Key(Buffer.from('k')).mac(Buffer.from('m'), undefined, 0, 15)).toThrow(RangeError);
  });

  it('macOf: the tag of a byte range equals the tag of that range as a message, whatever is around it', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 80 }),
        fc.uint8Array({ minLength: 0, maxLength: 400 }),
        fc.nat(400),
        fc.nat(400),
        (key, data, x, y) => {
          const [start, end] = [Math.min(x, y, data.length), Math.min(Math.max(x, y), data.length)];
          const k = new HmacSha256Key(key);
          const want = createHmac('sha256', Buffer.from(key)).update(data.subarray(start, end)).digest('hex');
          expect(hex(k.macOf(data, start, end))).toBe(want);
          // In place: the tag written into the same buffer, after the range (as a client writes its MAC vector).
          const buf = new Uint8Array(end + 16);
          buf.set(data.subarray(0, end));
          k.macOf(buf, start, end, buf, end, 16);
          expect(hex(buf.subarray(end))).toBe(want.slice(0, 32));
        },
      ),
      { numRuns: 300 },
    );
    const k = new HmacSha256Key(Buffer.from('k'));
    expect(() => k.macOf(new Uint8Array(4), 3, 2)).toThrow(RangeError);
    expect(() => k.macOf(new Uint8Array(4), 0, 5)).toThrow(RangeError);
  });

  it('keeps keys independent when calls interleave', () => {
    const a = new HmacSha256Key(Buffer.from('a'));
    const b = new HmacSha256Key(Buffer.from('b'));
    const msg = Buffer.from('same message');
    const ta = hex(a.mac(msg));
    expect(hex(b.mac(msg))).not.toBe(ta);
    expect(hex(a.mac(msg))).toBe(ta);
  });
});
