/**
 * Console access control without a network: every actor against every action and policy, tokens issued and
 * checked with jose (EdDSA JWT), expired, forged, foreign and tampered ones refused with TC457.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ACTORS, type Grant, refuseAction, visible } from '../../components/log/protocol/access.js';
import type { Entry } from '../../components/log/protocol/entry.js';
import { checkToken, issueToken } from '../../components/log/tokens.js';
import { rejectedTcError } from '../support/tc-error.js';

async function expectTcError(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const e = await rejectedTcError(p);
  expect(e.code).toBe(code);
  if (message) expect(e.message).toMatch(message);
}

const JUR = { a: 'eu', b: 'eu', c: 'us', d: 'us' };
const e = (cloud: string, account = 'client-audit'): Entry => ({
  seq: 0,
  time: 0,
  cloud,
  node: 'n',
  account,
  type: 't',
  msg: 'm',
});
const ENTRIES = [e('a'), e('b'), e('c'), e('d'), e('a', 'console-audit:alice'), e('c', 'console-audit:bob')];
const seen = (g: Grant) => ENTRIES.filter((x) => visible(g, x, JUR)).map((x) => `${x.cloud}:${x.account}`);

describe('console access policy', () => {
  it('lets only producers append and only readers read', () => {
    const table = ACTORS.map((actor) => {
      const g: Grant = { sub: 's', actor, cloud: 'a', node: 'n', clouds: ['a'] };
      return [actor, refuseAction(g, 'append') === undefined, refuseAction(g, 'read') === undefined];
    });
    expect(table).toEqual([
      ['producer', true, false],
      ['user', false, true],
      ['admin', false, true],
      ['reviewer', false, true],
    ]);
    expect(refuseAction({ sub: 'p', actor: 'producer' }, 'append')).toContain('cloud and node');
    expect(refuseAction({ sub: 'x', actor: 'admin' }, 'read')).toContain('clouds');
  });

  it('shows each actor under each policy exactly its entries', () => {
    expect(seen({ sub: 'r', actor: 'reviewer' })).toHaveLength(6);
    expect(seen({ sub: 'r', actor: 'reviewer', jurisdiction: 'eu' })).toEqual([
      'a:client-audit',
      'b:client-audit',
      'a:console-audit:alice',
    ]);
    expect(seen({ sub: 'r', actor: 'reviewer', jurisdiction: 'us', clouds: ['d'] })).toEqual(['d:client-audit']);
    expect(seen({ sub: 'ops', actor: 'admin', clouds: ['c'] })).toEqual(['c:client-audit', 'c:console-audit:bob']);
    expect(seen({ sub: 'ops', actor: 'admin', clouds: ['a', 'b'], jurisdiction: 'us' })).toEqual([]);
    expect(seen({ sub: 'alice', actor: 'user' })).toEqual(['a:console-audit:alice']);
    expect(seen({ sub: 'bob', actor: 'user', jurisdiction: 'eu' })).toEqual([]);
    expect(seen({ sub: 'p', actor: 'producer', cloud: 'a', node: 'n' })).toEqual([]);
  });
});

describe('console tokens (EdDSA JWT)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const grant: Grant = { sub: 'carol', actor: 'reviewer', jurisdiction: 'eu' };
  const now = 1_800_000_000_000;

  it('round-trips a grant, bound to its log', async () => {
    const t = await issueToken(privateKey, 'stack/audit', grant, 3600, now);
    expect(await checkToken(publicKey, 'stack/audit', t, now + 1000)).toEqual(grant);
    await expectTcError(checkToken(publicKey, 'stack/other', t, now), 'TC457', /not for this log/);
  });

  it('refuses expired, forged, tampered and malformed tokens', async () => {
    const t = await issueToken(privateKey, 'stack/audit', grant, 60, now);
    await expectTcError(checkToken(publicKey, 'stack/audit', t, now + 61_000), 'TC457', /expired/);
    const forged = await issueToken(
      other.privateKey,
      'stack/audit',
      { ...grant, jurisdiction: undefined } as Grant,
      60,
      now,
    );
    await expectTcError(checkToken(publicKey, 'stack/audit', forged, now), 'TC457', /forged/);
    const [h, p, s] = t.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const widened = Buffer.from(JSON.stringify({ ...payload, jurisdiction: undefined, actor: 'reviewer' })).toString(
      'base64url',
    );
    await expectTcError(checkToken(publicKey, 'stack/audit', `${h}.${widened}.${s}`, now), 'TC457', /forged/);
    await expectTcError(checkToken(publicKey, 'stack/audit', 'a.b.c', now), 'TC457', /malformed/);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    await expectTcError(checkToken(publicKey, 'stack/audit', none, now), 'TC457');
  });

  it('refuses lifetimes over the limit and grants that are not grants', async () => {
    await expectTcError(issueToken(privateKey, 'stack/audit', grant, 31 * 24 * 3600, now), 'TC457', /lifetime/);
    await expect(issueToken(privateKey, 'stack/audit', { sub: '', actor: 'user' }, 60, now)).rejects.toThrow();
  });
});
