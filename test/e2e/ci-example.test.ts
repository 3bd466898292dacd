/**
 * The GitHub Actions example (examples/ci/github-actions.yml) run as a pipeline would: its `run:` steps verbatim,
 * in bash with `-eo pipefail`, `CI=true`, no terminal, the job's env with `${{ github.run_id }}` filled in, and
 * `$GITHUB_ENV` carried from step to step as Actions does. Two runs at once, with different run ids, in the same
 * checkout: both pass (deploy, wait for the quorums, test, gate, destroy) and leave no stack, file or process
 * behind. The one step not run is the install (`npm ci` needs the registry): `npx tclouds` finds this checkout's
 * CLI through node_modules/.bin instead. Needs the built CLI.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stackSlot } from '../../stacks/local/addresses.js';
import { procCmdline } from '../../stacks/local/state.js';
import { bin, cli, repo, tempDir } from '../deploy/helpers.js';
import { fourLocalClouds, TEST_STACKS, USER_STACKS } from '../support/stacks.js';

const STACK = TEST_STACKS.ciExample;
const EXAMPLE = path.join(repo, 'examples', 'ci', 'github-actions.yml');
const hasReplica = existsSync(path.join(repo, 'dist', 'components', 'smr', 'node.js'));
/** Steps that need what this machine lacks (the npm registry); everything else runs as written. */
const NOT_RUN = new Set(['Install tclouds']);

const TOPOLOGY = fourLocalClouds(
  STACK,
  `  vault: { kind: storage, protocol: depsky-ca, f: 1, clouds: [a, b, c, d] }
  ledger: { kind: smr, f: 1, clouds: [a, b, c, d] }`,
);

interface Step {
  name?: string;
  run?: string;
  if?: string;
}

/** Two run ids whose stacks get 127.A blocks of their own (no other suite's, no user's, not each other's). */
function runIds(): [string, string] {
  const taken = new Set([...Object.values(TEST_STACKS), ...USER_STACKS].map(stackSlot));
  const ids: string[] = [];
  for (let id = 7_000_000_001; ids.length < 2; id++) {
    const slot = stackSlot(`${STACK}-${id}`);
    if (taken.has(slot)) continue;
    taken.add(slot);
    ids.push(String(id));
  }
  return ids as [string, string];
}

/** Lines KEY=value that a step appended to $GITHUB_ENV, as Actions passes them to the steps after it. */
async function githubEnv(file: string): Promise<Record<string, string>> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** One pipeline run: every step in order; after a failure only `if: always()` steps, as Actions does. */
async function pipeline(dir: string, runId: string): Promise<{ step: string; code: number | null; output: string }[]> {
  const workflow = parse(await fs.readFile(EXAMPLE, 'utf8')) as {
    jobs: Record<string, { env: Record<string, string>; steps: Step[] }>;
  };
  const job = Object.values(workflow.jobs)[0]!;
  const envFile = path.join(dir, `github-env-${runId}`);
  const jobEnv = Object.fromEntries(
    Object.entries(job.env).map(([k, v]) => [k, String(v).replace(/\$\{\{\s*github\.run_id\s*\}\}/, runId)]),
  );
  const results: { step: string; code: number | null; output: string }[] = [];
  let failed = false;
  for (const step of job.steps) {
    if (!step.run || NOT_RUN.has(step.name ?? '')) continue;
    if (failed && step.if !== 'always()') continue;
    const env = {
      ...process.env,
      ...jobEnv,
      ...(await githubEnv(envFile)),
      CI: 'true',
      GITHUB_ENV: envFile,
      GITHUB_RUN_ID: runId,
      npm_config_update_notifier: 'false',
      PATH: `${path.join(dir, 'node_modules', '.bin')}:${process.env.PATH}`,
    };
    const r = await bash(step.run, dir, env);
    results.push({ step: step.name ?? step.run, ...r });
    if (r.code !== 0) failed = true;
  }
  return results;
}

let dir = '';
const [first, second] = runIds();

describe.skipIf(!hasReplica)('the GitHub Actions example, twice at once', () => {
  afterAll(async () => {
    // The pipelines destroy their stacks; if one failed before, clean up here.
    if (!dir) return;
    for (const id of [first, second]) {
      await cli(['destroy', '--yes', '--json', '--stack-suffix', id], dir);
    }
  }, 240_000);

  it('both runs deploy, test, pass the gate and destroy, with nothing left behind', { timeout: 600_000 }, async () => {
    dir = await tempDir('ci-example');
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), TOPOLOGY);
    await fs.copyFile(path.join(repo, 'README.md'), path.join(dir, 'README.md'));
    await fs.mkdir(path.join(dir, 'node_modules', '.bin'), { recursive: true });
    await fs.symlink(bin, path.join(dir, 'node_modules', '.bin', 'tclouds'));

    const runs = await Promise.all([pipeline(dir, first), pipeline(dir, second)]);
    for (const [i, run] of runs.entries()) {
      const log = run.map((s) => `--- ${s.step}: exit ${s.code}\n${s.output}`).join('\n');
      console.log(`=== run ${i === 0 ? first : second} ===\n${log}`);
      expect(
        run.map((s) => [s.step, s.code]),
        log,
      ).toEqual(run.map((s) => [s.step, 0]));
      expect(run.map((s) => s.step)).toContain('Destroy');
    }
    // Each run saw its own stack: the env the outputs step exported names it.
    for (const id of [first, second]) {
      expect(await githubEnv(path.join(dir, `github-env-${id}`))).toMatchObject({ TCLOUDS_STACK: `${STACK}-${id}` });
    }
    // Nothing is left: no stack directory, no node or supervisor process of either stack.
    expect(existsSync(path.join(dir, '.tclouds'))).toBe(false);
    const left = readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .filter((pid) => [first, second].some((id) => procCmdline(Number(pid))?.includes(`${STACK}-${id}`)));
    expect(left).toEqual([]);
  });
});
