/**
 * The `tclouds workflow` commands without a deployment: help with examples, and bad input refused with its code,
 * where and a hint, before any engine is contacted (built CLI, as a user runs it).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/cli.js';
import { tc } from './deployment.js';

let dir: string;

beforeAll(async () => {
  dir = await tempDir('wf-cli');
  await writeFile(
    path.join(dir, 'tclouds.yaml'),
    'name: wf-e2e-cli\nmode: native\nclouds:\n  a: { provider: local }\n  b: { provider: local }\n  c: { provider: local }\ncomponents:\n  flow: { kind: workflow, f: 1, clouds: [a, b, c] }\n',
  );
  await writeFile(
    path.join(dir, 'bad.asl.json'),
    JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Nowhere' } } }),
  );
  await writeFile(
    path.join(dir, 'ok.asl.json'),
    JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }),
  );
});

const json = async (args: string[]) => {
  const r = await tc(dir, [...args, '--json']);
  return {
    code: r.code,
    out: JSON.parse(r.stdout) as { error?: { code: string; message: string; hint?: string; path?: string } },
  };
};

describe('tclouds workflow (no deployment)', () => {
  it.each(['start', 'status', 'history', 'ls', 'cancel', 'deploy-definition'])(
    '%s --help has examples',
    async (cmd) => {
      const r = await tc(dir, ['workflow', cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('EXAMPLES');
      expect(r.stdout).toContain(`workflow ${cmd}`);
    },
  );

  it('refuses an invalid definition with its state path (TC470, exit 3) before connecting', async () => {
    const r = await json(['workflow', 'deploy-definition', 'x', '--definition', 'bad.asl.json']);
    expect(r.code).toBe(3);
    expect(r.out.error).toMatchObject({
      code: 'TC470',
      message: expect.stringContaining('States.A.Next: no state named "Nowhere"'),
    });
    expect(r.out.error?.hint).toContain('Amazon States Language');
  });

  it('refuses an unreadable definition file (TC480) and input that is not JSON (TC473)', async () => {
    const missing = await json(['workflow', 'start', 'flow', '--definition', 'missing.asl.json']);
    expect(missing).toMatchObject({ code: 4, out: { error: { code: 'TC480' } } });
    const input = await json(['workflow', 'start', 'flow', '--definition', 'ok.asl.json', '--input', '{oops']);
    expect(input).toMatchObject({ code: 2, out: { error: { code: 'TC473' } } });
    expect(input.out.error?.hint).toContain('--input');
  });

  it('says there is no deployment (TC476) with a hint', async () => {
    const r = await json(['workflow', 'status', 'flow-1']);
    expect(r.code).toBe(4);
    expect(r.out.error).toMatchObject({ code: 'TC476', hint: expect.stringContaining('deploy') });
  });
});
