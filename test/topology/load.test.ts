import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, TcError } from '../../kernel/errors.js';
import {
  type LoadedTopology,
  loadTopology,
  localCloudDir,
  MAX_TOPOLOGY_BYTES,
  stackDir,
  validateTopologyText,
} from '../../topology/load.js';
import { validateTopologyFile } from '../../topology/report.js';
import { tempDir } from '../support/tmp.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('tclouds-load-');
});

const VALID = `name: demo
clouds:
  a: { provider: local }
  b: { provider: local, path: ../shared/b }
  c: { provider: local }
  d: { provider: local }
components:
  vault: { kind: storage, f: 1, clouds: [a, b, c, d] }
  ledger: { kind: smr, f: 1, clouds: [a, b, c, d] }
`;

function write(name: string, content: string | Uint8Array): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

async function loadError(file: string): Promise<TcError> {
  try {
    await loadTopology(file);
  } catch (e) {
    expect(e).toBeInstanceOf(TcError);
    return e as TcError;
  }
  throw new Error(`loading ${file} did not fail`);
}

describe('loadTopology', () => {
  it('loads a valid file with every default applied and absolute paths', async () => {
    const file = write('proj/tclouds.yaml', VALID);
    const loaded = await loadTopology(file);
    expect(loaded.file).toBe(file);
    expect(loaded.dir).toBe(path.dirname(file));
    expect(loaded.warnings).toEqual([]);
    const t = loaded.topology;
    expect(t.mode).toBe('client-resident');
    expect(t.placement).toEqual({ threat: 'byzantine-vm', keep: 'pm-majority', removal: false });
    expect(t.clients).toEqual({ cidrs: [] });
    expect(t.components.vault).toMatchObject({
      kind: 'storage',
      protocol: 'depsky-ca',
      colocate: 'forbidden',
      gateways: 2,
    });
    expect(t.components.ledger).toMatchObject({
      kind: 'smr',
      faults: 'byzantine',
      service: 'kv',
      checkpointPeriod: 1000,
    });
  });

  it('resolves a relative file against the working directory and defaults to ./tclouds.yaml', async () => {
    write('cwd/tclouds.yaml', VALID);
    const before = process.cwd();
    process.chdir(path.join(dir, 'cwd'));
    try {
      const loaded = await loadTopology();
      expect(loaded.file).toBe(path.join(dir, 'cwd', 'tclouds.yaml'));
    } finally {
      process.chdir(before);
    }
  });

  it('stackDir and localCloudDir: default under .tclouds/<name>/clouds/<cloud>, `path` relative to the file', async () => {
    const loaded: LoadedTopology = await loadTopology(write('proj2/tclouds.yaml', VALID));
    const base = path.join(dir, 'proj2');
    expect(stackDir(loaded)).toBe(path.join(base, '.tclouds', 'demo'));
    expect(localCloudDir(loaded, 'a')).toBe(path.join(base, '.tclouds', 'demo', 'clouds', 'a'));
    expect(localCloudDir(loaded, 'b')).toBe(path.join(dir, 'shared', 'b'));
    expect(() => localCloudDir(loaded, 'nope')).toThrow(TcError);
  });

  it('TC001: a missing file exits 4 (notFound)', async () => {
    const e = await loadError(path.join(dir, 'missing.yaml'));
    expect(e.code).toBe('TC001');
    expect(e.exit).toBe(ExitCode.notFound);
    expect(e.hint).toContain('tclouds init');
    // Every topology failure lists its errors in problems, file-level ones included.
    expect(e.problems).toEqual([expect.objectContaining({ code: 'TC001', severity: 'error' })]);
  });

  it('TC002: a directory exits 4 and suggests the tclouds.yaml inside it', async () => {
    write('withfile/tclouds.yaml', VALID);
    const e = await loadError(path.join(dir, 'withfile'));
    expect(e.code).toBe('TC002');
    expect(e.exit).toBe(ExitCode.notFound);
    expect(e.hint).toContain(path.join('withfile', 'tclouds.yaml'));
  });

  it('TC003: a file larger than the limit is refused without parsing it', async () => {
    const e = await loadError(write('huge.yaml', `# ${'x'.repeat(MAX_TOPOLOGY_BYTES)}\n`));
    expect(e.code).toBe('TC003');
    expect(e.exit).toBe(ExitCode.invalid);
  });

  it('TC004: binary data (NUL bytes) and invalid UTF-8 are refused', async () => {
    const nul = await loadError(write('nul.yaml', Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x00, 0x01, 0x02])));
    expect(nul.code).toBe('TC004');
    expect(nul.exit).toBe(ExitCode.invalid);
    const latin1 = await loadError(write('latin1.yaml', Buffer.from('name: caf\xe9\n', 'latin1')));
    expect(latin1.code).toBe('TC004');
    const gzip = await loadError(write('gz.yaml', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00, 0x00])));
    expect(gzip.code).toBe('TC004');
  });

  it('TC005: an empty file', async () => {
    const e = await loadError(write('empty.yaml', ''));
    expect(e.code).toBe('TC005');
    expect(e.exit).toBe(ExitCode.invalid);
    expect(e.problems[0]).toMatchObject({ code: 'TC005', line: 1, column: 1 });
  });

  it('TC009: something that is not a regular file', async () => {
    const e = await loadError('/dev/null');
    expect(e.code).toBe('TC009');
    expect(e.exit).toBe(ExitCode.notFound);
  });

  it('an invalid file throws exit 3 with every error attached, in file order', async () => {
    const file = write(
      'invalid.yaml',
      'name: demo\nclouds:\n  a: { provider: aws }\ncomponents:\n  vault: { kind: storage, f: 1, clouds: [a, b] }\n',
    );
    const e = await loadError(file);
    expect(e.exit).toBe(ExitCode.invalid);
    expect(e.problems.map((p) => `${p.code} ${p.line}:${p.column}`)).toEqual(['TC018 3:3', 'TC012 5:33', 'TC013 5:45']);
    expect(e.problems.every((p) => p.file === path.relative(process.cwd(), file) || p.file === file)).toBe(true);
  });
});

describe('validateTopologyText', () => {
  it('is pure and labels problems with the given name', () => {
    const r = validateTopologyText('name: 5\n', 'virtual.yaml');
    expect(r.topology).toBeUndefined();
    expect(r.errors.map((p) => p.file)).toEqual(['virtual.yaml', 'virtual.yaml', 'virtual.yaml']);
    expect(r.errors.map((p) => p.message)).toEqual([
      'missing required field "clouds"',
      'missing required field "components"',
      'name must be a string, not the integer 5',
    ]);
  });

  it('keys are reported at the key and values at the value', () => {
    const text =
      'name: demo\nclouds:\n  lab: { provider: local, pth: x }\ncomponents:\n  v: { kind: storage, f: 0, clouds: [lab] }\n';
    const r = validateTopologyText(text, 't.yaml');
    const unknown = r.errors.find((p) => p.code === 'TC011');
    expect(unknown).toMatchObject({ line: 3, column: 27, path: 'clouds.lab.pth' });
    expect(unknown?.hint).toContain('did you mean "path"?');
    const f = r.errors.find((p) => p.path === 'components.v.f');
    expect(f).toMatchObject({ code: 'TC010', line: 5, column: 26 });
  });

  it('semantic rules still run on the valid parts of an invalid file', () => {
    const text =
      'name: demo\nclouds:\n  a: { provider: local }\n  b: { provider: local }\ncomponents:\n' +
      '  broken: { kind: storage, f: many, clouds: [a] }\n  vault: { kind: storage, f: 1, clouds: [a, b] }\n';
    const codes = validateTopologyText(text, 't.yaml').errors.map((p) => p.code);
    expect(codes).toEqual(['TC010', 'TC012']);
  });

  it('a 500-component topology validates', () => {
    const lines = [
      'name: big',
      'clouds:',
      ...['a', 'b', 'c', 'd'].map((c) => `  ${c}: { provider: local }`),
      'components:',
    ];
    for (let i = 0; i < 500; i++) lines.push(`  s${i}: { kind: storage, f: 1, clouds: [a, b, c, d] }`);
    const r = validateTopologyText(lines.join('\n'), 'big.yaml');
    expect(r.errors).toEqual([]);
    expect(Object.keys(r.topology?.components ?? {})).toHaveLength(500);
  });
});

describe('validate report (--json shape)', () => {
  it('valid: keys in order, topology with defaults, no errors', async () => {
    const { report, exit } = await validateTopologyFile(write('ok.yaml', VALID));
    expect(exit).toBe(0);
    expect(Object.keys(report)).toEqual(['valid', 'topology', 'errors', 'warnings']);
    expect(report.valid).toBe(true);
    expect(report.topology?.mode).toBe('client-resident');
  });

  it('invalid: topology null, each problem has code, message, line, column, path, hint in that order', async () => {
    const { report, exit } = await validateTopologyFile(
      write(
        'bad.yaml',
        'name: demo\nclouds:\n  a: { provider: local }\ncomponents:\n  v: { kind: storage, f: 1, clouds: [a] }\n',
      ),
    );
    expect(exit).toBe(ExitCode.invalid);
    expect(report).toMatchObject({ valid: false, topology: null });
    expect(report.errors).toHaveLength(1);
    expect(Object.keys(report.errors[0] ?? {})).toEqual(['code', 'message', 'line', 'column', 'path', 'hint']);
    expect(report.errors[0]).toMatchObject({ code: 'TC012', line: 5, column: 29, path: 'components.v.clouds' });
  });

  it('a missing file gives the same shape with nulls for the unknown position, exit 4', async () => {
    const { report, exit } = await validateTopologyFile(path.join(dir, 'nope.yaml'));
    expect(exit).toBe(ExitCode.notFound);
    expect(report.errors).toEqual([
      {
        code: 'TC001',
        message: expect.stringContaining('not found'),
        line: null,
        column: null,
        path: null,
        hint: expect.any(String),
      },
    ]);
  });
});
