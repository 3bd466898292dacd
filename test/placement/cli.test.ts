/**
 * The placement commands as a user runs them: the compiled CLI (`node bin/run.js`, after
 * `npx tsc -p tsconfig.build.json`), real files in a temp directory, exit codes and --json shapes.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/run.js');

async function cli(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

let dir = '';
beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist/commands/placement/whatif.js'))) {
    throw new Error('compile first: npx tsc -p tsconfig.build.json');
  }
  dir = tempDir('tclouds-placement-');
});

describe.concurrent('tclouds placement (built CLI)', () => {
  it('whatif --json has the documented shape and exact values', async () => {
    const r = await cli([
      'placement',
      'whatif',
      '--layout',
      '6,1,1,1,1',
      '--threat',
      'byzantine-vm',
      '--keep',
      'pm-majority',
      '--attacks',
      '0..20',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(['layout', 'threat', 'keep', 'removal', 'curve', 'attacksToBreak']);
    expect(j.layout).toEqual([6, 1, 1, 1, 1]);
    expect(j.removal).toBe(false);
    expect(j.curve).toHaveLength(21);
    expect(j.curve[0]).toMatchObject({ attacks: 0, pKeep: 1 });
    expect(j.curve[5].pKeep).toBeCloseTo(0.4408, 12);
    expect(j.attacksToBreak).toBe(5);
  });

  it('whatif prints a human table without --json', async () => {
    const r = await cli(['placement', 'whatif', '--layout', '2,2,2,2,2', '--attacks', '3..5', '--removal']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/attacks to break/);
    expect(r.stdout.split('\n').filter((l) => /^[345]\s/.test(l))).toHaveLength(3);
  });

  it('advise --json has the documented shape', async () => {
    const r = await cli([
      'placement',
      'advise',
      '--vms',
      '10',
      '--pms',
      '5',
      '--threat',
      'byzantine-vm',
      '--keep',
      'pm-majority',
      '--attacks',
      '5',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of ['recommended', 'balanced', 'unbalanced', 'table1', 'method', 'notes']) expect(j).toHaveProperty(k);
    expect(Object.keys(j.recommended)).toEqual(['layout', 'pKeep', 'attacksToBreak']);
    expect(j.recommended.layout).toEqual([6, 1, 1, 1, 1]);
    expect(j.table1).toBe('unbalanced');
    expect(j.method).toBe('exhaustive');
  });

  it("advise --file advises every component over each cloud's hosts", async () => {
    const file = path.join(dir, 'tclouds.yaml');
    await fs.writeFile(
      file,
      [
        'name: demo',
        'mode: native',
        'clouds:',
        '  rack:',
        '    provider: local',
        '    hosts: 3',
        'placement:',
        '  threat: crash-vm',
        '  keep: pm-majority',
        'components:',
        '  ledger:',
        '    kind: smr',
        '    f: 2',
        '    clouds: [rack]',
        '    colocate: allowed',
        '',
      ].join('\n'),
    );
    const r = await cli(['placement', 'advise', '--file', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.placement).toEqual({ threat: 'crash-vm', keep: 'pm-majority', removal: false });
    expect(j.components).toHaveLength(1);
    expect(j.components[0]).toMatchObject({ component: 'ledger', cloud: 'rack', nodes: 7, hosts: 3, pms: 3 });
    expect(j.components[0].advice.recommended.layout).toEqual([3, 2, 2]);
  });

  it('advise --file on the init default (one node per cloud): one line per component, no figure to contradict', async () => {
    const file = path.join(dir, 'default.yaml');
    const init = await cli(['init', '--mode', 'client-resident', '--clouds', 'local', '--name', 'adv', '--file', file]);
    expect(init.code, init.stderr).toBe(0);
    const r = await cli(['placement', 'advise', '--file', file]);
    expect(r.code, r.stderr).toBe(0);
    // Nothing to lay out in a cloud that holds one node: say so once per component, with no tables of 0%.
    expect(r.stdout).toMatch(
      /^vault \(storage\): one node in each of local-1, local-2, local-3, local-4: nothing to lay out/m,
    );
    expect(r.stdout).toMatch(/^ledger \(smr\): one node in each of/m);
    expect(r.stdout).not.toContain('P(kept)');
    expect(r.stdout).not.toContain('survives with probability >= 1/2');
    const j = JSON.parse((await cli(['placement', 'advise', '--file', file, '--json'])).stdout);
    expect(new Set(j.components.map((c: { choice: string }) => c.choice))).toEqual(new Set(['single-node']));
  });

  it('advise --file with one node per host compares the number of hosts to ask for, notes said once', async () => {
    const file = path.join(dir, 'per-host.yaml');
    await fs.writeFile(
      file,
      [
        'name: demo',
        'mode: native',
        'clouds: { a: { provider: local }, b: { provider: local, hosts: 2 } }',
        'placement: { threat: crash-pm, keep: pm-majority }',
        'components:',
        '  ledger: { kind: smr, faults: byzantine, f: 2, clouds: [a, b], colocate: allowed }',
        '',
      ].join('\n'),
    );
    const r = await cli(['placement', 'advise', '--file', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [a, b] = JSON.parse(r.stdout).components;
    // 7 replicas over two clouds: 4 in a (no hosts declared: one per node), 3 in b on its 2 hosts.
    expect(a).toMatchObject({ cloud: 'a', nodes: 4, choice: 'one-per-host', bestHosts: 3 });
    expect(a.hostOptions.map((o: { hosts: number; pKeep: number }) => [o.hosts, o.pKeep])).toEqual([
      [1, 0],
      [2, 0],
      [3, 1],
      [4, 1],
    ]);
    expect(b).toMatchObject({ cloud: 'b', nodes: 3, pms: 2, choice: 'layout' });
    const text = (await cli(['placement', 'advise', '--file', file])).stdout;
    expect(text).toContain('declare `hosts: 3` for a to keep it as often as with 4, on fewer hosts');
    // [2,1] on 2 PMs does not survive one crash: the note must not claim the balanced layout does.
    expect(text).toContain('which even the balanced layout survives with probability < 1/2');
    for (const line of text.split('\n').filter((l) => l.includes('- '))) {
      expect(text.split(line).length - 1, line).toBe(1);
    }
  });

  it('table --json covers the 12 cells', async () => {
    const r = await cli(['placement', 'table', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.cells).toHaveLength(12);
    expect(j.cells.filter((c: { agrees: boolean }) => !c.agrees).length).toBe(2);
  });

  it('plot --figure 2 --out writes an SVG; --chart draws in the terminal', async () => {
    const out = path.join(dir, 'fig2.svg');
    const r = await cli(['placement', 'plot', '--figure', '2', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.out).toBe(out);
    expect(j.series).toHaveLength(4);
    const svg = await fs.readFile(out, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(4);
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const c = await cli([
      'placement',
      'plot',
      '--layout',
      '6,1,1,1,1',
      '--layout',
      '2,2,2,2,2',
      '--attacks',
      '0..15',
      '--chart',
    ]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/\* \[6,1,1,1,1\]/);
    expect(c.stdout).toMatch(/o \[2,2,2,2,2\]/);
  });

  it.each([
    [['placement', 'whatif', '--layout', '6,0,1'], 'TC100', 3],
    [['placement', 'whatif', '--layout', '2,2', '--threat', 'meteor'], 'TC103', 3],
    [['placement', 'whatif', '--layout', '2,2', '--attacks', '5..2'], 'TC105', 3],
    [['placement', 'advise', '--vms', '3', '--pms', '5'], 'TC102', 3],
    [['placement', 'whatif', '--layout', '100000,3', '--attacks', '0..1000000', '--threat', 'crash-vm'], 'TC106', 3],
    [['placement', 'plot', '--figure', '7'], 'TC109', 3],
    [['placement', 'plot'], 'TC110', 2],
    [['placement', 'plot', '--figure', '2', '--out', 'fig.png'], 'TC112', 2],
    [['placement', 'plot', '--figure', '2', '--out', '/dev/null/fig.svg'], 'TC111', 1],
  ])('%j fails with %s, exit %i, no stack trace', async (args, code, exit) => {
    const r = await cli(args as string[]);
    expect(r.code).toBe(exit);
    expect(r.stderr).toContain(code);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    if (['TC100', 'TC106'].includes(code as string)) {
      const j = await cli([...(args as string[]), '--json']);
      expect(j.code).toBe(exit);
      expect(JSON.parse(j.stdout).error.code).toBe(code);
    }
  });
});
