/**
 * The CLI as a user runs it: `node bin/run.js ...` in a child process, checking exit codes, output and that
 * no stack trace ever leaks. Compiles first when dist/ is older than the sources this suite covers.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'run.js');
const fixtures = path.join(root, 'test', 'fixtures', 'topology');
let dir: string;

function sourcesNewerThanDist(): boolean {
  const pairs: [string, string][] = [];
  for (const folder of ['topology', 'cli', 'runtime']) {
    for (const f of readdirSync(path.join(root, folder)).filter((n) => n.endsWith('.ts'))) {
      pairs.push([path.join(root, folder, f), path.join(root, 'dist', folder, f.replace(/\.ts$/, '.js'))]);
    }
  }
  for (const c of ['init', 'validate', 'schema']) {
    pairs.push([path.join(root, 'commands', `${c}.ts`), path.join(root, 'dist', 'commands', `${c}.js`)]);
  }
  return pairs.some(([src, out]) => !existsSync(out) || statSync(src).mtimeMs > statSync(out).mtimeMs);
}

beforeAll(() => {
  if (sourcesNewerThanDist()) {
    // Other areas' type errors must not stop the emit of ours, so the exit code is not checked here;
    // the tests below fail clearly if our files did not compile.
    try {
      execFileSync(
        process.execPath,
        [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
        {
          cwd: root,
          stdio: 'ignore',
        },
      );
    } catch {}
  }
  dir = tempDir('tclouds-cli-');
}, 300_000);

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function tclouds(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Result {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? dir,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '', ...opts.env },
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: 180_000,
  });
  const out = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  // Never a stack trace, whatever happened.
  expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/\n\s+at .+[:(]\d+:\d+\)?/);
  return out;
}

// Generous: on a loaded 2-core machine one start can take seconds, and a test spawns up to six.
describe('tclouds (spawned)', { timeout: 300_000 }, () => {
  it('--help lists the commands', () => {
    const r = tclouds(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['init', 'validate', 'schema', 'autocomplete']) expect(r.stdout).toContain(c);
  });

  it('validate --help shows examples and exit codes', () => {
    const r = tclouds(['validate', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('EXAMPLES');
    expect(r.stdout).toContain('3 invalid');
  });

  it('validate: a valid file exits 0', () => {
    const r = tclouds(['validate', path.join(fixtures, 'valid-issue-example.yaml')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^valid .*valid-issue-example\.yaml: mediator mode, 4 clouds, 5 components/m);
  });

  it('validate: an invalid file exits 3 with file:line:col error CODE message and a hint', () => {
    const file = path.join(dir, 'tclouds.yaml');
    writeFileSync(file, readFileSync(path.join(fixtures, 'tc012-storage-clouds.yaml')));
    const r = tclouds(['validate']);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain(
      'tclouds.yaml:10:5 error TC012 storage "vault" tolerates f=1 and needs 4 clouds (n >= 3f+1), it lists 3\n  hint: ',
    );
    expect(r.stdout).toContain('invalid tclouds.yaml: 1 error');
  });

  it('validate --json: the documented shape, keys in order, exit 3 when invalid', () => {
    const r = tclouds(['validate', path.join(fixtures, 'all-at-once.yaml'), '--json']);
    expect(r.status).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['valid', 'topology', 'errors', 'warnings']);
    expect(out.valid).toBe(false);
    expect(out.topology).toBeNull();
    expect(out.errors.map((e: { code: string }) => e.code)).toEqual([
      'TC018',
      'TC011',
      'TC012',
      'TC014',
      'TC013',
      'TC010',
    ]);
    for (const e of out.errors) expect(Object.keys(e)).toEqual(['code', 'message', 'line', 'column', 'path', 'hint']);
  });

  it('validate --json: defaults are visible in the topology', () => {
    const r = tclouds(['validate', path.join(fixtures, 'valid-issue-example.yaml'), '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(true);
    expect(out.topology.components.vault).toMatchObject({ gateways: 2, colocate: 'forbidden' });
    expect(out.topology.components.ledger).toMatchObject({ checkpointPeriod: 1000, batchSize: 400 });
    expect(out.topology.placement.removal).toBe(false);
    expect(out.errors).toEqual([]);
  });

  it.each([
    { what: 'a missing file', file: 'nope.yaml', status: 4, code: 'TC001' },
    { what: 'a directory', file: '.', status: 4, code: 'TC002' },
    { what: 'an alias bomb', file: path.join(fixtures, 'tc008-alias-bomb.yaml'), status: 3, code: 'TC008' },
    { what: 'a syntax error', file: path.join(fixtures, 'tc006-syntax.yaml'), status: 3, code: 'TC006' },
    { what: 'a duplicate key', file: path.join(fixtures, 'tc007-duplicate-key.yaml'), status: 3, code: 'TC007' },
    { what: 'wrong types', file: path.join(fixtures, 'tc010-wrong-types.yaml'), status: 3, code: 'TC010' },
  ])('validate: $what gives a clear error and exit $status (also with --json)', ({ file, status, code }) => {
    const r = tclouds(['validate', file]);
    expect(r.status).toBe(status);
    expect(r.stdout).toMatch(new RegExp(`error ${code} `));
    const j = tclouds(['validate', file, '--json']);
    expect(j.status).toBe(status);
    expect(JSON.parse(j.stdout).errors[0].code).toBe(code);
  });

  it('validate: binary garbage and an empty file exit 3', () => {
    writeFileSync(
      path.join(dir, 'garbage.yaml'),
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0xff, 0xd8]),
    );
    writeFileSync(path.join(dir, 'empty.yaml'), '');
    const g = tclouds(['validate', 'garbage.yaml']);
    expect(g.status).toBe(3);
    expect(g.stdout).toContain('error TC004');
    const e = tclouds(['validate', 'empty.yaml']);
    expect(e.status).toBe(3);
    expect(e.stdout).toContain('empty.yaml:1:1 error TC005');
  });

  it('color only when asked for, and NO_COLOR wins', () => {
    const file = path.join(fixtures, 'tc012-storage-clouds.yaml');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ANSI escapes
    const ansi = /\u001b\[/;
    expect(tclouds(['validate', file]).stdout).not.toMatch(ansi);
    expect(tclouds(['validate', file], { env: { NO_COLOR: '', FORCE_COLOR: '1' } }).stdout).toMatch(ansi);
    expect(tclouds(['validate', file], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } }).stdout).not.toMatch(ansi);
  });

  it('init writes a valid quickstart topology and refuses to overwrite it', () => {
    const cwd = path.join(dir, 'quick');
    mkdirSync(cwd);
    const r = tclouds(['init', '--mode', 'client-resident', '--clouds', 'local', '--name', 'quickstart'], { cwd });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('wrote tclouds.yaml (client-resident mode, stack quickstart)');
    expect(existsSync(path.join(cwd, 'tclouds.schema.json'))).toBe(true);
    expect(tclouds(['validate'], { cwd }).status).toBe(0);

    const again = tclouds(['init', '--mode', 'mediator', '--clouds', 'local'], { cwd });
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('error TC030');
    expect(readFileSync(path.join(cwd, 'tclouds.yaml'), 'utf8')).toContain('name: quickstart');

    const forced = tclouds(['init', '--mode', 'mediator', '--clouds', 'aws,azure,gcp,local', '--force', '--json'], {
      cwd,
    });
    expect(forced.status).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({
      mode: 'mediator',
      overwritten: true,
      components: ['vault', 'ledger'],
    });
    expect(tclouds(['validate'], { cwd }).status).toBe(0);
  });

  it('init without a terminal never prompts: defaults, no hang', () => {
    const cwd = path.join(dir, 'noprompt');
    mkdirSync(cwd);
    const r = tclouds(['init'], { cwd, input: 'mediator\n' });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('Choose');
    expect(readFileSync(path.join(cwd, 'tclouds.yaml'), 'utf8')).toContain('mode: client-resident');
  });

  it.each(['client-resident', 'mediator', 'appliance', 'native'])('init --mode %s --clouds local validates', (mode) => {
    const cwd = path.join(dir, `mode-${mode}`);
    mkdirSync(cwd);
    expect(tclouds(['init', '--mode', mode, '--clouds', 'local'], { cwd }).status).toBe(0);
    const v = tclouds(['validate', '--json'], { cwd });
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout).topology.mode).toBe(mode);
  });

  it('init: bad flags are usage errors (exit 2)', () => {
    const bad = tclouds(['init', '--clouds', 'aws,ovh', '--file', 'x.yaml']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('error TC031 --clouds: unknown provider "ovh"');
    expect(tclouds(['init', '--name', 'Not Valid', '--file', 'y.yaml']).status).toBe(2);
    expect(tclouds(['init', '--mode', 'cloudy', '--file', 'z.yaml']).status).toBe(2);
    expect(existsSync(path.join(dir, 'x.yaml'))).toBe(false);
  });

  it('missing arguments are named once, as the usage line names them (exit 2)', () => {
    const one = tclouds(['smr', 'get', 'ledger']);
    expect(one.status).toBe(2);
    expect(one.stderr).toContain('error TC033 missing 1 required argument: KEY\n');
    const two = tclouds(['storage', 'get', '--json']);
    expect(two.status).toBe(2);
    expect(JSON.parse(two.stdout).error.message).toMatch(
      /^missing 2 required arguments: COMPONENT \(.+\), NAME \(.+\)$/,
    );
  });

  it('schema prints the JSON Schema', () => {
    const r = tclouds(['schema']);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.properties.components).toBeDefined();
    expect(s.$id).toMatch(/tclouds\.schema\.json$/);
  });
});

describe('tclouds init on a terminal', { timeout: 300_000 }, () => {
  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasScript)('asks for the missing values and re-asks after a bad answer', () => {
    const cwd = path.join(dir, 'tty');
    mkdirSync(cwd);
    // `script` gives the child a pseudo-terminal; the answers are typed ahead, one per line.
    const r = spawnSync('script', ['-qec', `${process.execPath} ${bin} init`, '/dev/null'], {
      cwd,
      input: '2\naws,loca\naws,local\nmy-stack\n',
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', CI: '' },
      timeout: 180_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('unknown provider "loca"');
    const text = readFileSync(path.join(cwd, 'tclouds.yaml'), 'utf8');
    expect(text).toContain('name: my-stack');
    expect(text).toContain('mode: mediator');
    expect(text).toContain('aws-1:');
  });
});
