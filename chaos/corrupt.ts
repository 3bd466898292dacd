/**
 * `chaos corrupt`: flip bytes in one local cloud's copy of a stored object, the way a faulty or malicious
 * storage cloud would return wrong data. DepSky clients must notice (digests in the signed metadata) and
 * read the right bytes from the other clouds.
 *
 * `--object` names a data unit (a directory in the bucket: its value files, i.e. the data blocks, are
 * corrupted, never the signed metadata) or one file inside the bucket. The original is saved under
 * `<stackDir>/chaos/backup/`; `chaos heal` puts it back unless the copy was rewritten since.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { kindOf } from '../components/kinds.js';
import { containerOf } from '../components/storage/protocol/names.js';
import { writeFileAtomic } from '../kernel/atomic-file.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import type { BucketOutput } from '../runtime/node-spec.js';
import type { Deployment } from '../stacks/deployment.js';
import { ChaosCode } from './codes.js';
import { readJournal, writeJournal } from './journal.js';

export interface CorruptOptions {
  cloud?: string;
  bucket?: string;
  object: string;
  /** How many bytes to flip per file (spread over the file). */
  bytes?: number;
}

export interface CorruptResult {
  cloud: string;
  bucket: string;
  files: { file: string; size: number; flipped: number }[];
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function resolveBucket(dep: Deployment, cloud?: string, bucket?: string): BucketOutput & { path: string } {
  // Only data units can be corrupted the way a faulty cloud would: buckets of kinds whose data lives in them.
  const all = Object.values(dep.outputs.components)
    .filter((c) => kindOf(c.kind)?.chaos.corruptibleBuckets)
    .flatMap((c) => c.buckets);
  const matches = all.filter(
    (b) => (cloud === undefined || b.cloud === cloud) && (bucket === undefined || b.name === bucket),
  );
  const list = all.map((b) => `--cloud ${b.cloud} --bucket ${b.name}`).join('; ') || '(none)';
  if (matches.length !== 1) {
    throw new TcError(
      matches.length === 0 ? ChaosCode.unknownTarget : ChaosCode.badArgs,
      matches.length === 0
        ? 'no such bucket in this deployment'
        : 'several buckets match: name one with --cloud and --bucket',
      { exit: matches.length === 0 ? ExitCode.notFound : ExitCode.usage, hint: `buckets: ${list}` },
    );
  }
  const b = matches[0]!;
  if (b.provider !== 'local' || !b.path) {
    throw new TcError(ChaosCode.notLocal, `bucket ${b.name} of cloud ${b.cloud} is not a local directory`, {
      exit: ExitCode.usage,
      hint: 'corrupt works on local clouds only',
    });
  }
  return { ...b, path: b.path };
}

/** Positions of the bytes to flip: `count` positions spread evenly (deterministic). */
export function flipPositions(size: number, count: number): number[] {
  const n = Math.min(size, Math.max(1, count));
  return Array.from({ length: n }, (_, i) => Math.floor(((i + 0.5) * size) / n));
}

export async function corruptObject(dep: Deployment, opts: CorruptOptions): Promise<CorruptResult> {
  const b = resolveBucket(dep, opts.cloud, opts.bucket);
  const root = path.resolve(b.path);
  let target = path.resolve(root, opts.object);
  if (target !== root && !target.startsWith(`${root}${path.sep}`)) {
    throw new TcError(ChaosCode.badArgs, `--object ${opts.object} points outside the bucket`, {
      exit: ExitCode.usage,
    });
  }
  let st = await fs.stat(target).catch(() => null);
  if (!st) {
    // A DepSky data unit name: the storage client keeps it in a container named by containerOf().
    const container = path.join(root, containerOf(opts.object));
    const cst = await fs.stat(container).catch(() => null);
    if (cst) {
      target = container;
      st = cst;
    }
  }
  if (!st || target === root) {
    const units = (await fs.readdir(root).catch(() => [] as string[]))
      .filter((n) => !n.startsWith('.'))
      .map((n) => {
        try {
          return decodeURIComponent(n);
        } catch {
          return n;
        }
      });
    throw new TcError(ChaosCode.unknownTarget, `no object "${opts.object}" in ${b.cloud}/${b.name}`, {
      exit: ExitCode.notFound,
      hint:
        units.length > 0
          ? `objects there: ${units.slice(0, 10).join(', ')}`
          : 'the bucket is empty: put an object first',
    });
  }
  let files: string[];
  if (st.isDirectory()) {
    files = (await fs.readdir(target))
      .filter((n) => n.startsWith('value'))
      .sort()
      .map((n) => path.join(target, n));
    if (files.length === 0) {
      throw new TcError(ChaosCode.corruptFailed, `data unit ${opts.object} on ${b.cloud} holds no value files`, {
        exit: ExitCode.notFound,
      });
    }
  } else files = [target];

  const journal = await readJournal(dep.stackDir);
  const backupDir = path.join(dep.stackDir, 'chaos', 'backup');
  const result: CorruptResult = { cloud: b.cloud, bucket: b.name, files: [] };
  for (const file of files) {
    const original = await fs.readFile(file);
    if (original.length === 0) continue;
    const fileMode = (await fs.stat(file)).mode & 0o777;
    const corrupted = Buffer.from(original);
    const positions = flipPositions(original.length, opts.bytes ?? 16);
    for (const p of positions) corrupted[p] = corrupted[p]! ^ 0xff;
    // Keep the first original: corrupting twice must still heal back to the real data.
    const existing = journal.corrupted.find((c) => c.file === file);
    const backup = existing?.backup ?? path.join(backupDir, `${sha256(Buffer.from(file))}.orig`);
    if (!existing) await writeFileAtomic(backup, original, { mode: 0o600 });
    await writeFileAtomic(file, corrupted, { mode: fileMode });
    const record = { file, backup, corruptedSha256: sha256(corrupted), at: new Date().toISOString() };
    journal.corrupted = [...journal.corrupted.filter((c) => c.file !== file), record];
    result.files.push({ file, size: original.length, flipped: positions.length });
  }
  if (result.files.length === 0) {
    throw new TcError(ChaosCode.corruptFailed, `object ${opts.object} on ${b.cloud} is empty: nothing to corrupt`, {
      exit: ExitCode.invalid,
    });
  }
  await writeJournal(dep.stackDir, journal);
  return result;
}

/** Put corrupted copies back (those not rewritten since); returns what was restored and what was left. */
export async function restoreCorrupted(dep: Deployment): Promise<{ restored: string[]; superseded: string[] }> {
  const journal = await readJournal(dep.stackDir);
  const restored: string[] = [];
  const superseded: string[] = [];
  for (const c of journal.corrupted) {
    const now = await fs.readFile(c.file).catch(() => null);
    const original = await fs.readFile(c.backup).catch(() => null);
    if (now && original && sha256(now) === c.corruptedSha256) {
      const mode = (await fs.stat(c.file)).mode & 0o777;
      await writeFileAtomic(c.file, original, { mode });
      restored.push(c.file);
    } else superseded.push(c.file);
    await fs.rm(c.backup, { force: true });
  }
  journal.corrupted = [];
  await writeJournal(dep.stackDir, journal);
  return { restored, superseded };
}
