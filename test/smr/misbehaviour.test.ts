/** The censor mode of the misbehaviour switch (misbehaviour.ts), on its own: what it lets into the core. */
import { describe, expect, it } from 'vitest';
import { MISBEHAVIOURS, Misbehaviour } from '../../components/smr/misbehaviour.js';
import type { Msg } from '../../components/smr/protocol/types.js';
import { emptyOutput } from '../../components/smr/replica-driver.js';

const req = new Uint8Array([1, 2, 3]);

describe('misbehaviour: censor', () => {
  it('is one of the modes the SMR kind offers', () => {
    expect(MISBEHAVIOURS).toContain('censor');
  });

  it('drops client requests and forwarded ones, empties the requests of a STOP, passes everything else', () => {
    const m = new Misbehaviour(0, 4);
    expect(m.admitsRequests()).toBe(true);
    m.set('censor');
    expect(m.admitsRequests()).toBe(false);
    expect(m.filterIncoming({ t: 'FWD', reqs: [req] } as Msg)).toBeNull();
    expect(m.filterIncoming({ t: 'STOP', reg: 2, reqs: [req] } as Msg)).toEqual({ t: 'STOP', reg: 2, reqs: [] });
    const hb = { t: 'HB', reg: 1, cid: 5 } as Msg;
    expect(m.filterIncoming(hb)).toBe(hb);
    // What it sends is left alone: it votes and replies like a correct replica.
    const out = emptyOutput();
    expect(m.apply(out)).toBe(out);
  });

  it('back to none lets requests in again', () => {
    const m = new Misbehaviour(1, 4);
    m.set('censor');
    m.set('none');
    expect(m.admitsRequests()).toBe(true);
    const fwd = { t: 'FWD', reqs: [req] } as Msg;
    expect(m.filterIncoming(fwd)).toBe(fwd);
  });
});
