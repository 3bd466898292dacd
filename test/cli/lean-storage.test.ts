/**
 * The lean launcher path (cli/hot/): `storage put/get/ls/rm` without oclif must behave exactly as the oclif
 * commands. The built CLI (`node bin/run.js`, after `npm run build`) runs in a temp project with four local
 * clouds; each case runs once as `storage put ...` (lean path) and once as `storage:put ...` (the same command
 * through oclif, which the lean path never takes), and outputs, --json shapes, error codes and exit codes are
 * compared. A preloaded probe records whether oclif was loaded, so each case also proves which path it took.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHotArgv } from '../../cli/hot/argv.js';
import { HOT_COMMAND_IDS, type HotSidecar, inputsUnchanged, runHot } from '../../cli/hot/dispatch.js';
import { pattern, tempDir } from '../storage/support.js';
import { tempDir as tempRoot } from '../support/tmp.js';

const root = path.resolve('.');
const bin = path.join(root, 'bin', 'run.js');
let tmp: { dir: string; cleanup: () => Promise<void> };
let probe: string;

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
  oclif: boolean;
}

/** Run the built CLI in the temp project; `oclif: true` in the result when @oclif/core was loaded. */
function cli(args: string[], input?: Uint8Array, env: Record<string, string> = {}): Run {
  const marker = path.join(tmp.dir, `probe-${process.hrtime.bigint()}`);
  const r = spawnSync(process.execPath, ['--require', probe, bin, ...args], {
    cwd: tmp.dir,
    input,
    // The lean path's validated-topology cache goes to the temp dir, not the user's.
    env: { ...process.env, NO_COLOR: '1', PROBE_OUT: marker, XDG_CACHE_HOME: path.join(tmp.dir, 'cache'), ...env },
    maxBuffer: 64 << 20,
  });
  const oclif = readFileSync(marker, 'utf8') === 'true';
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString(), oclif };
}

/** The same command line through the lean path (`storage put`) and through oclif (`storage:put`). */
function both(command: string, rest: string[], input?: Uint8Array): { lean: Run; oclif: Run } {
  const lean = cli(['storage', command, ...rest], input);
  const viaOclif = cli([`storage:${command}`, ...rest], input);
  expect(lean.oclif, `storage ${command} ${rest.join(' ')} took the lean path`).toBe(false);
  expect(viaOclif.oclif).toBe(true);
  return { lean, oclif: viaOclif };
}

/**
 * Versions differ between two writes, and which n-f clouds acknowledged first (and which copies were still being
 * finished when the quorum had the object) between two runs: compare everything else.
 */
const norm = (s: string) =>
  s
    .replace(/\b\d+\.[0-9a-f]{12}\b/g, '<version>')
    .replace(/; finishing l\d(, l\d)*/g, '')
    .replace(/^copies on l\d(, l\d)* finished\n/gm, '')
    .replace(/\bl\d(, l\d)*(?=\n| into)/g, '<clouds>');
const json = (r: Run) => JSON.parse(r.stdout.toString());

/** The same exit code, stdout and stderr (versions aside). */
function expectSame(a: Run, b: Run): void {
  expect(a.code).toBe(b.code);
  expect(norm(a.stdout.toString())).toBe(norm(b.stdout.toString()));
  expect(norm(a.stderr)).toBe(norm(b.stderr));
}

beforeAll(async () => {
  tmp = await tempDir('tclouds-lean-cli-');
  probe = path.join(tmp.dir, 'probe.cjs');
  await fs.writeFile(
    probe,
    "process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, " +
      "String(Object.keys(require.cache).some((k) => k.includes('@oclif/core')))));\n",
  );
  await fs.writeFile(
    path.join(tmp.dir, 'tclouds.yaml'),
    [
      'name: lean',
      'clouds:',
      '  l1: { provider: local }',
      '  l2: { provider: local }',
      '  l3: { provider: local }',
      '  l4: { provider: local }',
      'components:',
      '  vault: { kind: storage, f: 1, clouds: [l1, l2, l3, l4] }',
      '  plain: { kind: storage, protocol: depsky-a, f: 1, clouds: [l1, l2, l3, l4] }',
      '',
    ].join('\n'),
  );
  await fs.writeFile(path.join(tmp.dir, 'report.pdf'), pattern(300_000, 7));
  await fs.writeFile(path.join(tmp.dir, 'bad.yaml'), 'name: lean\nclouds:\n  l1: { provider: nowhere }\n');
  expect(cli(['storage', 'keygen', 'vault']).code).toBe(0);
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('lean argv parser', () => {
  const spec = {
    args: ['component', 'file'],
    flags: {
      topology: { type: 'option' as const, char: 't', default: 'tclouds.yaml' },
      as: { type: 'option' as const },
      protocol: { type: 'option' as const, options: ['depsky-a', 'depsky-ca'] },
      long: { type: 'boolean' as const, char: 'l', default: false },
      json: { type: 'boolean' as const },
    },
  };

  it('reads the plain forms exactly, with defaults', () => {
    expect(
      parseHotArgv(['vault', 'a.bin', '--as', 'x/y', '-t', 'top.yaml', '--protocol=depsky-a', '--json'], spec),
    ).toEqual({
      args: { component: 'vault', file: 'a.bin' },
      flags: { as: 'x/y', topology: 'top.yaml', protocol: 'depsky-a', json: true, long: false },
    });
    expect(parseHotArgv(['vault', '-', '-l'], spec)).toEqual({
      args: { component: 'vault', file: '-' },
      flags: { topology: 'tclouds.yaml', long: true },
    });
  });

  it('leaves everything else to oclif', () => {
    const refused = [
      ['vault', 'a.bin', '--help'],
      ['vault', 'a.bin', '-h'],
      ['vault', 'a.bin', '--', '--json'],
      ['vault', 'a.bin', '--bogus'],
      ['vault', 'a.bin', '--as', 'x', '--as', 'y'],
      ['vault', 'a.bin', '--as'],
      ['vault', 'a.bin', '--as', '-x'],
      ['vault', 'a.bin', '--as='],
      ['vault', 'a.bin', '--protocol', 'depsky-b'],
      ['vault', 'a.bin', '--json=true'],
      ['vault', 'a.bin', '-ttop.yaml'],
      ['vault', 'a.bin', '-lt', 'x'],
      ['vault'],
      ['vault', 'a.bin', 'extra'],
      ['vault', '-x.bin'],
    ];
    for (const argv of refused) expect(parseHotArgv(argv, spec), argv.join(' ')).toBeUndefined();
  });
});

describe('lean storage path (built CLI)', () => {
  it('is built, fresh, and parses with the flag and argument definitions oclif holds', async () => {
    const sidecar = JSON.parse(readFileSync(path.join(root, 'dist', 'hot', 'storage.json'), 'utf8')) as HotSidecar;
    expect(await inputsUnchanged(root, sidecar.inputs)).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<
        string,
        {
          args: Record<string, { required?: boolean }>;
          flags: Record<
            string,
            {
              type: string;
              char?: string;
              env?: string;
              aliases?: string[];
              charAliases?: string[];
              default?: unknown;
              options?: string[];
            }
          >;
        }
      >;
    };
    expect(Object.keys(sidecar.commands).sort()).toEqual([...HOT_COMMAND_IDS].sort());
    for (const id of HOT_COMMAND_IDS) {
      const ours = sidecar.commands[id];
      const theirs = manifest.commands[id];
      expect(ours?.args).toEqual(Object.keys(theirs?.args ?? {}));
      const flags = Object.fromEntries(
        Object.entries(theirs?.flags ?? {}).map(([name, f]) => [
          name,
          {
            type: f.type,
            ...(f.char ? { char: f.char } : {}),
            ...(f.env ? { env: f.env } : {}),
            ...(f.aliases?.length ? { aliases: f.aliases } : {}),
            ...(f.charAliases?.length ? { charAliases: f.charAliases } : {}),
            ...(f.default !== undefined ? { default: f.default } : {}),
            ...(f.options ? { options: f.options } : {}),
          },
        ]),
      );
      // oclif's manifest leaves out a boolean's default false; its parser still sets false when absent.
      const ourFlags = Object.fromEntries(
        Object.entries(ours?.flags ?? {}).map(([name, { default: d, ...f }]) => [
          name,
          { ...f, ...(d === false && f.type === 'boolean' ? {} : d !== undefined ? { default: d } : {}) },
        ]),
      );
      expect(ourFlags).toEqual(flags);
    }
  });

  it('put, get, ls and rm print what the oclif commands print, with the same --json shapes', async () => {
    let r = both('put', ['vault', 'report.pdf', '--as', 'a.pdf']);
    expectSame(r.lean, r.oclif);
    expect(r.lean.stdout.toString()).toMatch(/^stored a\.pdf version 1\.\S+ \(depsky-ca, /);
    r = both('put', ['vault', 'report.pdf', '--as', 'a.pdf', '--json', '--protocol', 'depsky-a']);
    expect(r.lean.code).toBe(r.oclif.code);
    expect(r.lean.stderr).toBe(r.oclif.stderr);
    const put = (x: Run) => ({ ...json(x), version: '', acked: [], pending: [], failed: [] });
    expect(put(r.lean)).toEqual(put(r.oclif));
    expect(Object.keys(json(r.lean))).toEqual(Object.keys(json(r.oclif)));
    expect(json(r.lean)).toMatchObject({ du: 'a.pdf', protocol: 'depsky-a', size: 300_000 });
    const data = pattern(70_000, 9);
    r = both('put', ['vault', '-', '--as', 'stdin.bin', '-t', 'tclouds.yaml'], data);
    expectSame(r.lean, r.oclif);

    const get = both('get', ['vault', 'a.pdf', '-o', 'out.pdf', '--json']);
    expect(get.lean.code).toBe(0);
    const [lean, oclif] = [json(get.lean), json(get.oclif)];
    expect(Object.keys(lean)).toEqual(Object.keys(oclif));
    // Which clouds answered first may differ between two runs; the object read may not.
    expect({ ...lean, from: [], dataGets: 0 }).toEqual({ ...oclif, from: [], dataGets: 0 });
    expect(await fs.readFile(path.join(tmp.dir, 'out.pdf'))).toEqual(
      await fs.readFile(path.join(tmp.dir, 'report.pdf')),
    );
    const toStdout = both('get', ['vault', 'stdin.bin']);
    expectSame(toStdout.lean, toStdout.oclif);
    expect(toStdout.lean.stdout.equals(Buffer.from(data))).toBe(true);

    for (const args of [['vault'], ['vault', '--json'], ['vault', '-l'], ['vault', '--long', '--json']]) {
      const ls = both('ls', args);
      expectSame(ls.lean, ls.oclif);
    }

    for (const du of ['c.pdf', 'd.pdf'])
      expect(cli(['storage', 'put', 'vault', 'report.pdf', '--as', du]).code).toBe(0);
    const rmLean = cli(['storage', 'rm', 'vault', 'c.pdf', '--json']);
    const rmOclif = cli(['storage:rm', 'vault', 'd.pdf', '--json']);
    expect(rmLean.oclif).toBe(false);
    expect(rmLean.code).toBe(0);
    expect({ ...json(rmLean), du: '' }).toEqual({ ...json(rmOclif), du: '' });
  }, 300_000);

  it('reports errors as the oclif commands do: same codes, messages, --json shape and exit codes', () => {
    const cases: [string, string[], Uint8Array?][] = [
      ['put', ['vault', 'missing.bin']],
      ['put', ['vault', 'missing.bin', '--json']],
      ['put', ['vault', '-'], new Uint8Array(3)],
      ['put', ['nope', 'report.pdf']],
      ['put', ['vault', 'report.pdf', '-t', 'absent.yaml', '--json']],
      ['put', ['vault', 'report.pdf', '-t', 'bad.yaml']],
      ['ls', ['vault', '-t', 'bad.yaml', '--json']],
      ['ls', ['vault', '--topology', '.']],
      ['get', ['vault', 'gone.bin', '-o', 'x.bin', '--json']],
      ['get', ['vault', 'stdin.bin', '--json']],
      ['get', ['vault', 'stdin.bin', '-o', 'x.bin', '--prefer', 'l9']],
      ['ls', ['plain']],
      ['ls', ['plain', '--json']],
      ['rm', ['vault', 'gone.bin', '--key', 'no-such.key']],
    ];
    for (const [command, args, input] of cases) {
      const r = both(command, args, input);
      expect(r.lean.code, `${command} ${args.join(' ')}`).toBeGreaterThan(0);
      expectSame(r.lean, r.oclif);
      if (args.includes('--json')) expect(json(r.lean).error.code).toMatch(/^TC\d{3}$/);
      else expect(r.lean.stderr).toMatch(/error TC\d{3} /);
    }
  });

  it('leaves help, usage errors and unusual command lines to oclif', () => {
    const help = cli(['storage', 'put', '--help']);
    expect(help.oclif).toBe(true);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toMatch(/--protocol=<option>/);
    expect(help.stdout.toString()).toMatch(/EXAMPLES/);
    const usage: string[][] = [
      ['storage', 'put', 'vault', 'report.pdf', '--bogus'],
      ['storage', 'put', 'vault'],
      ['storage', 'get', 'vault', 'a', 'b', 'c'],
      ['storage', 'put', 'vault', 'report.pdf', '--protocol', 'depsky-x', '--json'],
    ];
    for (const args of usage) {
      const r = cli(args);
      expect(r.oclif, args.join(' ')).toBe(true);
      expect(r.code).toBe(2);
      if (args.includes('--json')) expect(json(r).error.code).toBe('TC033');
      else expect(r.stderr).toMatch(/error TC033 /);
    }
    // oclif reads TCLOUDS_CONTENT_TYPE=json as --json: the lean path leaves it to oclif.
    const typed = cli(['storage', 'ls', 'vault'], undefined, { TCLOUDS_CONTENT_TYPE: 'json' });
    expect(typed.oclif).toBe(true);
    expect(json(typed).component).toBe('vault');
  });
});

describe('lean path dispatch', () => {
  it('hands the command to oclif without a usable bundle, for other commands, and with TCLOUDS_CONTENT_TYPE', async () => {
    const fake = tempRoot('tclouds-lean-root-');
    const argv = ['storage', 'ls', 'vault'];
    expect(await runHot(fake, argv)).toBe(false); // no dist/hot at all
    await fs.mkdir(path.join(fake, 'dist', 'hot'), { recursive: true });
    const input = path.join(fake, 'dist', 'x.js');
    await fs.writeFile(input, 'export {};\n');
    const st = await fs.stat(input);
    const sidecar: HotSidecar = {
      commands: { 'storage:ls': { args: ['component'], flags: { json: { type: 'boolean' } } } },
      inputs: { 'dist/x.js': `${st.size}:${st.mtimeMs}` },
    };
    await fs.writeFile(path.join(fake, 'dist', 'hot', 'storage.json'), JSON.stringify(sidecar));
    expect(await inputsUnchanged(fake, sidecar.inputs)).toBe(true);
    // Fresh inputs but no bundle file: oclif.
    expect(await runHot(fake, argv)).toBe(false);
    await fs.writeFile(input, 'export const changed = 1;\n');
    expect(await inputsUnchanged(fake, sidecar.inputs)).toBe(false);
    expect(await runHot(fake, ['storage', 'gc', 'vault', 'x'])).toBe(false);
    expect(await runHot(fake, ['storage', 'ls', 'vault', '--help'])).toBe(false);
    process.env.TCLOUDS_CONTENT_TYPE = 'json';
    try {
      expect(await runHot(path.resolve('.'), argv)).toBe(false);
    } finally {
      delete process.env.TCLOUDS_CONTENT_TYPE;
    }
  });
});
