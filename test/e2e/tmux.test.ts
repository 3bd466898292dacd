import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_STACKS } from '../support/stacks.js';
import { bin, built, type Run, tc, tempDir, until } from './helpers.js';

const STACK = TEST_STACKS.tmux;

/**
 * The dashboard for real: `tclouds status` in a tmux pane on a real terminal, against a local deployment
 * (the full quickstart when the SMR node software is built, else its storage part). The screen is captured
 * into the test log. tmux comes from Debian; when it is missing the test installs nothing and skips.
 */
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const parts = built();
const withNodes = parts.nodeHost && parts.smr;
const ready = hasTmux && parts.deploy && parts.status;
if (!hasTmux) console.warn('[e2e tmux] skipped: tmux is not installed (Debian package `tmux`); nothing was installed');
else if (!ready) console.warn(`[e2e tmux] skipped: deploy/status not built (${JSON.stringify(parts)})`);

const socket = `tclouds-e2e-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const capture = () => tmux('capture-pane', '-p', '-t', 'dash');
let dir: string;

function ok(r: Run): Run {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe.skipIf(!ready)('status dashboard in tmux', () => {
  beforeAll(async () => {
    dir = await tempDir('e2e-tmux');
    ok(await tc(['init', '--mode', 'client-resident', '--clouds', 'local', '--name', STACK], dir));
    if (!withNodes) {
      const yaml = await fs.readFile(path.join(dir, 'tclouds.yaml'), 'utf8');
      const start = yaml.indexOf('  # Byzantine fault-tolerant state machine');
      if (start < 0 || !yaml.includes('  # More components'))
        throw new Error('quickstart template changed: update this test');
      await fs.writeFile(
        path.join(dir, 'tclouds.yaml'),
        yaml.slice(0, start) + yaml.slice(yaml.indexOf('  # More components')),
      );
    }
    ok(await tc(['deploy', '--yes'], dir, { timeoutMs: 240_000 }));
  }, 300_000);

  afterAll(async () => {
    try {
      tmux('kill-server');
    } catch {}
    if (dir) {
      await tc(['destroy', '--yes'], dir, { timeoutMs: 180_000 });
    }
  });

  it('draws the panels on a real 100x40 terminal, follows keys, quits on q', async () => {
    tmux(
      'new-session',
      '-d',
      '-s',
      'dash',
      '-x',
      '100',
      '-y',
      '40',
      '-c',
      dir,
      `env -u NO_COLOR -u CI TERM=xterm-256color ${process.execPath} ${bin} status --interval 500; echo EXITED $?; sleep 30`,
    );
    const first = await until(
      async () => (capture().includes('placement') || capture().includes('vault') ? capture() : ''),
      90_000,
    );
    console.log(`--- tmux capture (100x40) ---\n${first}`);
    expect(first).toContain(`tclouds status ${STACK} (local)`);
    expect(first).toMatch(/vault storage · n=4 f=1/);
    expect(first).toContain('ok: tolerates 1 more fault (f=1), 4/4 clouds up, quorum 3');
    if (withNodes) {
      expect(first).toMatch(/ledger smr · n=4 f=1/);
      // One key per write: a terminal delivers "j\r" typed at once as one chunk, which is not two key presses.
      tmux('send-keys', '-t', 'dash', 'j');
      await until(async () => capture().includes('› ledger-replica-1'), 60_000);
      tmux('send-keys', '-t', 'dash', 'Enter');
      const details = await until(async () => (capture().includes('last log lines') ? capture() : ''), 60_000);
      console.log(`--- after j, enter ---\n${details}`);
      expect(details).toContain('last log lines');
    }
    tmux('resize-window', '-t', 'dash', '-x', '80', '-y', '40');
    // Until the dashboard has redrawn for 80 columns (a loaded machine may take a while); checked in full below.
    // tmux cuts the wide frame at once, so a redrawn frame is one whose panel borders are whole again.
    const fits = (c: string) =>
      Math.max(...c.split('\n').map((l) => l.trimEnd().length)) <= 80 &&
      c.split('tclouds status').length === 2 &&
      c
        .split('\n')
        .filter((l) => l.startsWith('╭'))
        .every((l) => l.trimEnd().endsWith('╮'));
    const narrow = await until(async () => (fits(capture()) ? capture() : ''), 60_000);
    console.log(`--- after resize to 80 columns ---\n${narrow}`);
    expect(Math.max(...narrow.split('\n').map((l) => l.trimEnd().length))).toBeLessThanOrEqual(80);
    // No debris of the wider frame: one header, one top border per panel.
    expect(narrow.split('tclouds status').length - 1).toBe(1);
    expect(
      narrow
        .split('\n')
        .filter((l) => l.startsWith('╭'))
        .every((l) => l.trimEnd().endsWith('╮')),
    ).toBe(true);
    tmux('send-keys', '-t', 'dash', 'q');
    const exited = await until(async () => (capture().includes('EXITED') ? capture() : ''), 60_000);
    console.log(`--- after q ---\n${exited}`);
    expect(exited).toContain('EXITED 0');
    // The alternate screen is left: the shell's screen is back, without dashboard frames.
    expect(exited).not.toContain('╭');
  }, 300_000);

  it('on a terminal, destroy asks; with CI set it refuses instead of waiting for an answer', async () => {
    // A pipeline may allocate a terminal: CI alone must keep a command from waiting on a prompt nobody sees.
    const run = (session: string, env: string) =>
      tmux(
        'new-session',
        '-d',
        '-s',
        session,
        '-x',
        '100',
        '-y',
        '20',
        '-c',
        dir,
        `env ${env} TERM=xterm-256color ${process.execPath} ${bin} destroy; echo EXITED $?; sleep 30`,
      );
    const screen = (session: string) => tmux('capture-pane', '-p', '-t', session);
    run('ci', 'CI=true');
    const refused = await until(async () => (screen('ci').includes('EXITED') ? screen('ci') : ''), 60_000);
    console.log(`--- destroy with CI=true on a terminal ---\n${refused}`);
    expect(refused).toContain('TC307');
    expect(refused).toContain('CI is set');
    expect(refused).toContain('EXITED 2');
    expect(refused).not.toContain('[y/N]');

    run('ask', '-u CI');
    await until(async () => screen('ask').includes('[y/N]'), 60_000);
    tmux('send-keys', '-t', 'ask', 'n', 'Enter');
    const declined = await until(async () => (screen('ask').includes('EXITED') ? screen('ask') : ''), 60_000);
    console.log(`--- destroy without CI, answered n ---\n${declined}`);
    expect(declined).toContain('cancelled: nothing was changed');
    expect(declined).toContain('EXITED 1');
    // Both left the deployment running.
    const status = await tc(['status', '--json'], dir);
    expect(status.code, status.stdout).toBe(0);
  }, 180_000);
});
