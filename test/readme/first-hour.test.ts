/**
 * The README's two set-up commands, as a newcomer runs them: a fresh clone of this repository's HEAD, the
 * install/quickstart line (npm install, init, deploy, one SMR write, status), then `npm test` (build, type check,
 * lint, vitest) with the quickstart still deployed in the checkout. Only two things differ from the README: the
 * stack name (a test stack, so a user's own quickstart may run meanwhile: test/support/stacks.ts) and the test
 * files vitest runs (a fast subset, passed after `--`, since the whole suite is what runs this test).
 *
 * npm takes packages from its cache when it has them (`prefer-offline`); a first run on a machine with an empty
 * cache downloads them. Skipped with a message outside a git checkout (an unpacked tarball has nothing to clone).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repo, tempDir } from '../support/cli.js';
import { TEST_STACKS } from '../support/stacks.js';

const STACK = TEST_STACKS.readme;
const isCheckout = existsSync(path.join(repo, '.git'));
if (!isCheckout) console.warn('[readme] skipped: not a git checkout, nothing to clone');

/** The README's first sh block: the install/quickstart line and the test line. */
function readmeCommands(readme: string): { install: string; test: string } {
  const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  const lines = (block ?? '').trim().split('\n');
  if (lines.length !== 2) throw new Error(`the README's first sh block should hold two commands, not:\n${block}`);
  return { install: lines[0]!, test: lines[1]! };
}

interface Sh {
  code: number | null;
  out: string;
}

/**
 * `bash -c command` in `cwd` with this test's node first on PATH (npm, npx and the CLI run on the node under
 * test) and without what the outer vitest/npm put in the environment; the output is kept for the failure message.
 */
function sh(command: string, cwd: string, timeoutMs: number): Promise<Sh> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(VITEST|npm_|NODE_OPTIONS$|NODE_ENV$|TEST$)/i.test(k)) continue;
    env[k] = v;
  }
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${env.PATH ?? ''}`;
  Object.assign(env, {
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    PULUMI_SKIP_UPDATE_CHECK: '1',
    NO_COLOR: '1',
  });
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    // A deadline for a hung command only (npm waiting on a lock, a dead registry): its whole process group goes.
    const timer = setTimeout(() => {
      out += `\n[readme test] no exit after ${timeoutMs} ms: killed`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function git(args: string[], cwd: string): Promise<Sh> {
  return sh(['git', ...args.map((a) => `'${a}'`)].join(' '), cwd, 120_000);
}

const tail = (s: string) => s.split('\n').slice(-60).join('\n');

describe.skipIf(!isCheckout)("the README's two set-up commands, in order, on a fresh clone", () => {
  let clone: string;
  let deployed = false;
  const { install, test } = readmeCommands(readFileSync(path.join(repo, 'README.md'), 'utf8'));

  beforeAll(async () => {
    const head = (await git(['rev-parse', 'HEAD'], repo)).out.trim();
    clone = path.join(await tempDir('readme'), 'tclouds');
    const cloned = await git(['clone', '--quiet', '--no-checkout', repo, clone], repo);
    expect(cloned.code, cloned.out).toBe(0);
    const checkout = await git(['checkout', '--quiet', head], clone);
    expect(checkout.code, checkout.out).toBe(0);
  }, 180_000);

  afterAll(async () => {
    // Also when a test failed: the deployed stack goes (and test/support/tmp.ts kills what is left in the clone).
    if (deployed) await sh('npx tclouds destroy --yes', clone, 120_000);
  }, 180_000);

  it('the install/quickstart line installs, builds, deploys, writes and shows the status', async () => {
    expect(install).toContain('npm install');
    expect(install.split('--name quickstart')).toHaveLength(2);
    deployed = true; // from here on, something may be running
    const r = await sh(install.replace('--name quickstart', `--name ${STACK}`), clone, 600_000);
    expect(r.code, tail(r.out)).toBe(0);
    expect(r.out).toContain(`tclouds status ${STACK} (local)`);
    for (const generated of ['tclouds.yaml', 'tclouds.schema.json', `.tclouds/${STACK}/outputs.json`]) {
      expect(existsSync(path.join(clone, generated)), generated).toBe(true);
    }
    // What the quickstart wrote is the user's, not a change to the project.
    const status = await git(['status', '--porcelain'], clone);
    expect(status.out.trim(), 'files the quickstart line left for git to see').toBe('');
  }, 660_000);

  it('then npm test passes (build, type check, lint, a fast subset of the tests) with the quickstart deployed', async () => {
    expect(test).toBe('npm test');
    expect(existsSync(path.join(clone, '.tclouds', STACK, 'outputs.json')), 'the quickstart is deployed').toBe(true);
    const r = await sh(`${test} -- test/topology test/support`, clone, 600_000);
    expect(r.code, tail(r.out)).toBe(0);
    expect(r.out).toMatch(/Test Files\s+\d+ passed/);
  }, 660_000);
});
