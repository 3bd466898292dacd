/**
 * The Log Console on a real deployment: every actor with and without policies against its HTTP API, producers
 * stamped by their token, a reader confined to one jurisdiction, forged, expired and missing tokens refused.
 * Needs `npm run build` first.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repo, tempDir } from '../support/cli.js';
import { TEST_STACKS } from '../support/stacks.js';
import { tc, until } from './e2e-support.js';

const built = existsSync(path.join(repo, 'dist', 'components', 'log', 'console-node.js'));
const STACK = TEST_STACKS.logConsole;
const TOPOLOGY = `name: ${STACK}
mode: mediator
clouds:
  a: { provider: local, region: eu-west-1 }
  b: { provider: local, region: eu-central-1 }
  c: { provider: local, region: us-east-1 }
  d: { provider: local, region: us-west-2 }
components:
  audit: { kind: log, f: 1, clouds: [a, b, c, d], jurisdictions: { a: eu, b: eu, c: us, d: us } }
`;

let dir: string;
let url: string;

async function token(...args: string[]): Promise<string> {
  const r = await tc(['log', 'token', 'audit', '--json', ...args], dir);
  const out = r.json() as { token: string; console: string };
  url = out.console;
  return out.token;
}

async function call(method: string, route: string, tok: string | undefined, body?: unknown) {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

type Listed = { entries: { cloud: string; account: string; msg: string; node: string }[] };
const msgs = (r: { body: Record<string, unknown> }) => (r.body as unknown as Listed).entries.map((e) => e.msg);

describe.skipIf(!built)('log console access control', () => {
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    dir = await tempDir('log-console');
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), TOPOLOGY);
    const r = await tc(['deploy', '--target', 'local', '--yes', '--json'], dir);
    if (r.code !== 0) throw new Error(`deploy failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    tokens.prodA = await token('--actor', 'producer', '--sub', 'billing', '--cloud', 'a', '--node', 'web-1');
    tokens.prodC = await token('--actor', 'producer', '--sub', 'lab', '--cloud', 'c', '--node', 'scanner');
    tokens.reviewer = await token('--actor', 'reviewer', '--sub', 'carol');
    tokens.reviewerEu = await token('--actor', 'reviewer', '--sub', 'dora', '--jurisdiction', 'eu');
    tokens.reviewerC = await token('--actor', 'reviewer', '--sub', 'erin', '--clouds', 'c');
    tokens.adminA = await token('--actor', 'admin', '--sub', 'ops', '--clouds', 'a');
    tokens.userBilling = await token('--actor', 'user', '--sub', 'billing');
    tokens.userLabEu = await token('--actor', 'user', '--sub', 'lab', '--jurisdiction', 'eu');
  }, 240_000);
  afterAll(async () => {
    if (dir) await tc(['destroy', '--yes', '--json'], dir);
  }, 120_000);

  it("lets producers append, stamped with their token's cloud, node and account, and nobody else", {
    timeout: 120_000,
  }, async () => {
    const a = await call('POST', '/v1/entries', tokens.prodA, {
      entries: [{ type: 'invoice', msg: 'invoice 1' }],
      seal: true,
    });
    expect(a).toMatchObject({ status: 200, body: { count: 1 } });
    const c = await call('POST', '/v1/entries', tokens.prodC, {
      entries: [{ type: 'scan', msg: 'medical scan 7' }],
      seal: true,
    });
    expect(c.status).toBe(200);
    for (const who of ['reviewer', 'adminA', 'userBilling']) {
      const r = await call('POST', '/v1/entries', tokens[who], { entries: [{ type: 'x', msg: 'sneaky' }] });
      expect(r).toMatchObject({ status: 403, body: { error: { code: 'TC458' } } });
    }
    // A producer cannot choose where its entry comes from.
    const spoof = await call('POST', '/v1/entries', tokens.prodA, { entries: [{ type: 'x', msg: 'y', cloud: 'c' }] });
    expect(spoof).toMatchObject({ status: 400, body: { error: { code: 'TC451' } } });
    const all = await until('both entries verified', async () => {
      const r = await call('GET', '/v1/entries?type=invoice', tokens.reviewer);
      const s = await call('GET', '/v1/entries?type=scan', tokens.reviewer);
      return msgs(r).length === 1 && msgs(s).length === 1 ? ([r, s] as const) : undefined;
    });
    expect((all[0].body as unknown as Listed).entries[0]).toMatchObject({
      cloud: 'a',
      node: 'web-1',
      account: `console-audit:billing`,
    });
    expect((all[1].body as unknown as Listed).entries[0]).toMatchObject({
      cloud: 'c',
      node: 'scanner',
      account: `console-audit:lab`,
    });
  });

  it('shows each reader only what its actor and policy allow', { timeout: 120_000 }, async () => {
    const seen = async (who: string) => {
      const r = await call('GET', '/v1/entries', tokens[who]);
      expect(r.status).toBe(200);
      return msgs(r).filter((m) => !m.startsWith('deploy of'));
    };
    expect(await seen('reviewer')).toEqual(['invoice 1', 'medical scan 7']);
    // Confined to the EU: the scan was made in cloud c (us-east-1), so it stays invisible.
    expect(await seen('reviewerEu')).toEqual(['invoice 1']);
    expect(await seen('reviewerC')).toEqual(['medical scan 7']);
    expect(await seen('adminA')).toEqual(['invoice 1']);
    expect(await seen('userBilling')).toEqual(['invoice 1']);
    expect(await seen('userLabEu')).toEqual([]);
    const head = await call('GET', '/v1/head', tokens.reviewerEu);
    expect(head).toMatchObject({ status: 200, body: { head: { size: expect.any(Number) } } });
    for (const who of ['prodA', 'prodC']) {
      expect(await call('GET', '/v1/entries', tokens[who])).toMatchObject({
        status: 403,
        body: { error: { code: 'TC458' } },
      });
    }
  });

  it('shows core replicas, console and clouds in the status dashboard with their verdict', {
    timeout: 60_000,
  }, async () => {
    const r = await tc(['status', '--json'], dir);
    const status = r.json() as {
      components: {
        name: string;
        verdict: string;
        nodes: { id: string; state: string; keyMetric: string }[];
        clouds: { cloud: string }[];
      }[];
    };
    const audit = status.components.find((c) => c.name === 'audit');
    expect(audit?.verdict).toBe('ok');
    expect(audit?.nodes.map((n) => [n.id, n.state])).toEqual(
      [
        ['audit-core-0', 'ok'],
        ['audit-core-1', 'ok'],
        ['audit-core-2', 'ok'],
        ['audit-core-3', 'ok'],
        ['audit-console-0', 'ok'],
      ].sort(),
    );
    expect(audit?.nodes.find((n) => n.id === 'audit-core-0')?.keyMetric).toMatch(
      /^\d+ entries · \d+\/\d+ segments stored$/,
    );
    expect(audit?.clouds.map((c) => c.cloud)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses missing, forged, tampered and expired tokens', { timeout: 120_000 }, async () => {
    expect(await call('GET', '/v1/entries', undefined)).toMatchObject({
      status: 401,
      body: { error: { code: 'TC457' } },
    });
    const [h, p, s] = tokens.reviewerEu!.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    delete claims.jurisdiction;
    const widened = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    expect(await call('GET', '/v1/entries', widened)).toMatchObject({
      status: 401,
      body: { error: { message: expect.stringContaining('forged') } },
    });
    // A token signed with another key (a writer key of a core replica, not the console's).
    const { SignJWT } = await import('jose');
    const { readSigningKey } = await import('../../components/storage/keys.js');
    const other = await readSigningKey(path.join(dir, '.tclouds', STACK, 'keys', 'storage-audit-core-0-writer.key'));
    const forged = await new SignJWT({ actor: 'reviewer' })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject('mallory')
      .setIssuer(`tclouds:${STACK}/audit`)
      .setAudience('tclouds-log-console')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(other);
    expect(await call('GET', '/v1/entries', forged)).toMatchObject({ status: 401, body: { error: { code: 'TC457' } } });
    const short = await token('--actor', 'reviewer', '--sub', 'temp', '--ttl', '1s');
    const expired = await until('the 1 s token to expire', async () => {
      const r = await call('GET', '/v1/head', short);
      return r.status === 401 ? r : undefined;
    });
    expect(expired.body).toMatchObject({ error: { code: 'TC457', message: expect.stringContaining('expired') } });
  });

  it('keeps appending and verifying with a core replica killed, and records the chaos action and who ran it', {
    timeout: 180_000,
  }, async () => {
    const kill = await tc(['chaos', 'kill', '--node', 'audit-core-3', '--yes', '--json'], dir);
    expect(kill.code).toBe(0);
    const r = await tc(
      [
        'log',
        'append',
        'audit',
        '--cloud',
        'a',
        '--node',
        'n',
        '--type',
        'after-kill',
        '--msg',
        'still here',
        '--json',
      ],
      dir,
    );
    expect(r.code).toBe(0);
    const q = (await tc(['log', 'query', 'audit', '--type', 'tclouds.chaos.kill', '--json'], dir)).json() as {
      entries: { msg: string; cloud: string }[];
    };
    expect(q.entries).toHaveLength(1);
    expect(q.entries[0]?.msg).toMatch(/^chaos kill: audit-core-3 ok \(by .+@.+\)$/);
    const v = (await tc(['log', 'verify', 'audit', '--json'], dir)).json() as {
      ok: boolean;
      problems: { replica?: number; severity: string }[];
    };
    expect(v.ok).toBe(true);
    expect(v.problems.length).toBeGreaterThan(0);
    expect(v.problems.every((p) => p.severity === 'warning' && p.replica === 3)).toBe(true);
    const heal = await tc(['chaos', 'heal', '--json'], dir);
    expect(heal.code).toBe(0);
    const healed = (await tc(['log', 'query', 'audit', '--type', 'tclouds.chaos.heal', '--json'], dir)).json() as {
      entries: { msg: string }[];
    };
    expect(healed.entries.map((e) => e.msg)).toEqual([
      expect.stringMatching(/^chaos heal: .*audit-core-3 ok.* \(by .+\)$/),
    ]);
  });
});
