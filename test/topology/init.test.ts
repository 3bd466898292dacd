import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { initTopology, SCHEMA_FILE } from '../../topology/init.js';
import { SCHEMA_ID } from '../../topology/json-schema.js';
import { validateTopologyText } from '../../topology/load.js';
import { MODES, PROVIDERS, type Provider } from '../../topology/schema.js';
import { checkStackName, cloudsFor, parseProviders, renderTopology, templatePath } from '../../topology/templates.js';
import { tempDir } from '../support/tmp.js';

/** Every non-empty set of providers, in canonical order, plus a few reversed orders. */
function providerSets(): Provider[][] {
  const sets: Provider[][] = [];
  for (let mask = 1; mask < 1 << PROVIDERS.length; mask++) sets.push(PROVIDERS.filter((_, i) => mask & (1 << i)));
  sets.push(['local', 'gcp', 'azure', 'aws'], ['local', 'aws']);
  return sets;
}

/** Remove the `# ` of the commented-out component examples (the block after "Remove the leading"). */
function uncommentExamples(text: string): string {
  const [head, tail] = text.split(/^ {2}# Remove the leading.*\n/m);
  expect(tail).toBeDefined();
  return `${head}${(tail ?? '').replace(/^ {2}# ?/gm, '  ')}`;
}

describe('templates', () => {
  for (const mode of MODES) {
    it(`${mode}: starts with the schema comment and is valid as shipped`, () => {
      const text = readFileSync(templatePath(mode), 'utf8');
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./tclouds.schema.json');
      const r = validateTopologyText(text, `${mode}.yaml`);
      expect(r.errors).toEqual([]);
      expect(r.topology?.mode).toBe(mode);
    });

    it(`${mode}: renders a valid file for every set of providers`, () => {
      for (const providers of providerSets()) {
        const rendered = renderTopology({ mode, providers, name: 'demo' });
        const r = validateTopologyText(rendered.text, 'tclouds.yaml');
        expect(r.errors, `${mode} ${providers.join(',')}`).toEqual([]);
        const t = r.topology;
        expect(t?.mode).toBe(mode);
        // The product decision for this release: storage "vault" and SMR "ledger" are the active components.
        expect(Object.keys(t?.components ?? {})).toEqual(['vault', 'ledger']);
        expect(t?.components.vault).toMatchObject({ kind: 'storage', protocol: 'depsky-ca', f: 1 });
        expect(t?.components.vault?.clouds).toHaveLength(4);
        expect(t?.components.ledger).toMatchObject({ kind: 'smr', faults: 'byzantine', f: 1, service: 'kv' });
        const used = new Set(Object.values(t?.clouds ?? {}).map((c) => c.provider));
        if (mode === 'native') expect([...used]).toEqual([providers[0]]);
        else expect([...used].sort()).toEqual([...providers].sort());
        // Only appliance mode has warnings: the whole-box failure (TC021).
        if (mode === 'appliance') expect(new Set(r.warnings.map((w) => w.code))).toEqual(new Set(['TC021']));
        else expect(r.warnings).toEqual([]);
      }
    });

    it(`${mode}: the commented-out log, mapreduce and workflow examples are valid once uncommented`, () => {
      for (const providers of [['local'], ['aws', 'azure', 'gcp', 'local']] as Provider[][]) {
        const text = uncommentExamples(renderTopology({ mode, providers, name: 'demo' }).text);
        const r = validateTopologyText(text, 'tclouds.yaml');
        expect(r.errors).toEqual([]);
        const kinds = Object.fromEntries(Object.entries(r.topology?.components ?? {}).map(([n, c]) => [n, c.kind]));
        expect(kinds).toEqual({ vault: 'storage', ledger: 'smr', audit: 'log', jobs: 'mapreduce', flows: 'workflow' });
      }
    });
  }

  it('declares four clouds round-robin over the providers, in distinct regions', () => {
    expect(cloudsFor(['local'])).toEqual([
      { name: 'local-1', provider: 'local' },
      { name: 'local-2', provider: 'local' },
      { name: 'local-3', provider: 'local' },
      { name: 'local-4', provider: 'local' },
    ]);
    expect(cloudsFor(['aws', 'local'])).toEqual([
      { name: 'aws-1', provider: 'aws', region: 'eu-west-1' },
      { name: 'local-1', provider: 'local' },
      { name: 'aws-2', provider: 'aws', region: 'eu-central-1' },
      { name: 'local-2', provider: 'local' },
    ]);
  });

  it('native mode keeps the first provider and reports the others as ignored', () => {
    const r = renderTopology({ mode: 'native', providers: ['gcp', 'aws'], name: 'n' });
    expect(r.clouds.map((c) => c.provider)).toEqual(['gcp', 'gcp', 'gcp', 'gcp']);
    expect(r.ignoredProviders).toEqual(['aws']);
  });

  it('parses --clouds: order kept, duplicates dropped, unknown providers rejected with a suggestion', () => {
    expect(parseProviders(' AWS,local,aws ,')).toEqual(['aws', 'local']);
    const bad = (() => {
      try {
        parseProviders('aws,azur');
      } catch (e) {
        return e as TcError;
      }
    })();
    expect(bad).toBeInstanceOf(TcError);
    expect(bad?.code).toBe('TC031');
    expect(bad?.exit).toBe(ExitCode.usage);
    expect(bad?.hint).toContain('did you mean "azure"?');
    expect(() => parseProviders(' , ')).toThrow(/lists no provider/);
    expect(() => checkStackName('Bad Name')).toThrow(TcError);
    expect(checkStackName('quickstart')).toBe('quickstart');
  });
});

describe('initTopology', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('tclouds-init-');
  });

  it('writes the topology and the JSON Schema beside it; the quickstart topology validates', async () => {
    const file = path.join(dir, 'q', 'tclouds.yaml');
    mkdirSync(path.dirname(file), { recursive: true });
    const r = await initTopology({
      file,
      mode: 'client-resident',
      providers: ['local'],
      name: 'quickstart',
      force: false,
    });
    expect(r).toMatchObject({
      mode: 'client-resident',
      name: 'quickstart',
      components: ['vault', 'ledger'],
      overwritten: false,
    });
    const text = readFileSync(file, 'utf8');
    expect(validateTopologyText(text, 'tclouds.yaml').topology?.name).toBe('quickstart');
    const schema = JSON.parse(readFileSync(path.join(dir, 'q', SCHEMA_FILE), 'utf8'));
    expect(schema.$id).toBe(SCHEMA_ID);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['name', 'mode', 'clouds', 'components']));
    // Atomic writes leave no temporary files behind.
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('TC030: never overwrites an existing file without force; with force it does', async () => {
    const file = path.join(dir, 'existing.yaml');
    writeFileSync(file, 'my precious topology\n');
    const err = await initTopology({ file, mode: 'mediator', providers: ['local'], name: 'demo', force: false }).catch(
      (e: unknown) => e as TcError,
    );
    expect(err).toBeInstanceOf(TcError);
    expect((err as TcError).code).toBe('TC030');
    expect((err as TcError).exit).toBe(ExitCode.usage);
    expect(readFileSync(file, 'utf8')).toBe('my precious topology\n');
    expect(existsSync(path.join(dir, SCHEMA_FILE))).toBe(false);
    const r = await initTopology({ file, mode: 'mediator', providers: ['local'], name: 'demo', force: true });
    expect(r.overwritten).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain('mode: mediator');
  });

  it('TC031: refuses a directory as the target', async () => {
    const err = await initTopology({
      file: dir,
      mode: 'mediator',
      providers: ['local'],
      name: 'demo',
      force: true,
    }).catch((e: unknown) => e as TcError);
    expect((err as TcError).code).toBe('TC031');
  });
});
