/**
 * What `tclouds storage put/get/ls/rm` do once their arguments are parsed, without oclif: the commands
 * (commands/storage/) call these after oclif parsed the command line, and the lean launcher path (cli/hot/)
 * calls them after parsing the same flags itself, so both paths print the same lines and return the same
 * --json value by construction.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { GetInfo, PutResult } from '../components/storage/client.js';
import { StorageCode } from '../components/storage/codes.js';
import { checkNameFitsClouds } from '../components/storage/name-limits.js';
import { openClient, type StorageFlagValues } from '../components/storage/open-client.js';
import type { TopologyLoader } from '../components/storage/resolve.js';
import { table } from '../dashboard/style.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import { formatBytes } from '../kernel/format.js';
import type { CommandIO } from './command-io.js';
import { gatewayGet, gatewayLs, gatewayPut, gatewayRm } from './storage-gateway-actions.js';
import { interruptSignal, progressBar } from './storage-ui.js';

/** Objects from this size on show the progress bar of `put` (on a TTY, without --json). */
const PUT_PROGRESS_MIN_BYTES = 8 << 20;

/** How the actions are run: the lean path loads topologies through its cache (topology/validated-cache.ts). */
export interface ActionOptions {
  loadTopology?: TopologyLoader;
}

const loaderOf = (o: ActionOptions) => (o.loadTopology ? { loadTopology: o.loadTopology } : {});

export interface DataUnitArgs {
  component: string;
  name: string;
}

/** `--via-gateway` (components/storage/via-gateway.ts): through a deployed gateway instead of the clouds. */
export interface ViaGateway {
  'via-gateway'?: boolean | undefined;
}

export interface PutFlags extends StorageFlagValues, ViaGateway {
  as?: string | undefined;
  protocol?: string | undefined;
}

/** What `put` returns: the write, and which clouds hold the object when the command exits. */
export type PutOutcome = PutResult & { holders: string[]; unfinished: string[] };

export async function storagePut(
  args: { component: string; file: string },
  flags: PutFlags,
  io: CommandIO,
  o: ActionOptions = {},
): Promise<PutOutcome> {
  const du = flags.as ?? (args.file === '-' ? undefined : path.basename(args.file));
  if (!du) throw new TcError(StorageCode.badName, 'reading standard input needs --as <name>', { exit: ExitCode.usage });
  const { signal, dispose } = interruptSignal();
  try {
    let size = 0;
    if (args.file !== '-') {
      const st = await fs.stat(args.file).catch(() => undefined);
      if (!st?.isFile()) {
        throw new TcError(StorageCode.badName, `${args.file} is not a readable file`, { exit: ExitCode.notFound });
      }
      size = st.size;
    }
    if (flags['via-gateway']) {
      const r = await gatewayPut(args.component, flags.file, du, args.file, io);
      return { ...r, pending: [], holders: r.acked, unfinished: [] };
    }
    const bar = progressBar(!io.json && size >= PUT_PROGRESS_MIN_BYTES, `put ${du}`);
    const { client } = await openClient(args.component, flags, { write: true, progress: bar.update, ...loaderOf(o) });
    checkNameFitsClouds(du, client.drivers);
    try {
      // Both sources stream: DepSky-CA segment by segment, DepSky-A from the file (stdin is spooled by the client).
      const source = args.file === '-' ? { stream: process.stdin } : { file: args.file };
      const r = await client.put(du, source, {
        ...(flags.protocol ? { protocol: flags.protocol as 'depsky-a' | 'depsky-ca' } : {}),
        signal,
      });
      bar.end();
      io.log(
        `stored ${du} version ${r.version} (${r.protocol}, ${formatBytes(r.size)}, ${formatBytes(r.bytesPerCloud)} per cloud) on ${r.acked.join(', ')}` +
          (r.pending.length > 0 ? `; finishing ${r.pending.join(', ')}` : ''),
      );
      for (const f of r.failed) io.note(`warning: ${f.cloud}: ${f.reason}`);
      // The copies of the clouds outside the quorum go on in this process, for at most LATE_COPY_MS.
      const late = await client.close();
      const holders = [...new Set([...r.acked, ...late.stored])].sort();
      if (late.unfinished.length > 0) {
        io.note(`warning: the copies on ${late.unfinished.join(', ')} did not finish; ${holders.join(', ')} hold it`);
      } else if (r.pending.length > 0) io.log(`copies on ${late.stored.join(', ')} finished`);
      return { ...r, holders, unfinished: late.unfinished };
    } finally {
      bar.end();
    }
  } finally {
    dispose();
  }
}

export interface GetFlags extends StorageFlagValues, ViaGateway {
  output?: string | undefined;
  prefer?: string | undefined;
}

/** --prefer: cloud names to indexes of the component's clouds. */
function preferenceOf(prefer: string, clouds: readonly string[], component: string): number[] {
  return prefer.split(',').map((c) => {
    const i = clouds.indexOf(c.trim());
    if (i < 0) {
      throw new TcError(StorageCode.badConfig, `--prefer: "${c}" is not a cloud of ${component}`, {
        exit: ExitCode.usage,
        hint: `clouds: ${clouds.join(', ')}`,
      });
    }
    return i;
  });
}

export async function storageGet(
  args: DataUnitArgs,
  flags: GetFlags,
  io: CommandIO,
  o: ActionOptions = {},
): Promise<GetInfo & { output: string }> {
  // `--out -` is standard output, as no --out is.
  if (flags.output === '-') flags.output = undefined;
  if (io.json && !flags.output) {
    throw new TcError(StorageCode.badName, '--json prints the result on stdout: give the data a file with --output', {
      exit: ExitCode.usage,
    });
  }
  if (flags['via-gateway']) return gatewayGet(args.component, flags.file, args.name, flags.output, io);
  const { signal, dispose } = interruptSignal();
  const bar = progressBar(!io.json && flags.output !== undefined, `get ${args.name}`);
  try {
    const { client, resolved } = await openClient(args.component, flags, {
      write: false,
      progress: bar.update,
      ...loaderOf(o),
    });
    checkNameFitsClouds(args.name, client.drivers);
    if (flags.prefer) {
      const preference = preferenceOf(flags.prefer, resolved.spec.clouds, args.component);
      client.opts.read = { ...client.opts.read, preference };
    }
    const info = flags.output
      ? await client.getToFile(args.name, flags.output, { signal })
      : await client.getToStream(args.name, process.stdout, { signal });
    bar.end();
    await client.close();
    for (const r of info.rejected) io.note(`warning: ${r.cloud}: ${r.reason}`);
    if (flags.output) {
      io.log(
        `read ${info.du} version ${info.version} (${formatBytes(info.size)}) from ${info.from.join(', ')} into ${flags.output}`,
      );
    }
    return { ...info, output: flags.output ?? '-' };
  } finally {
    bar.end();
    dispose();
  }
}

export interface LsResult {
  component: string;
  dataUnits: { name: string; version?: string; protocol?: string; size?: number; error?: string }[];
  incomplete: string[];
}

export async function storageLs(
  args: { component: string },
  flags: StorageFlagValues & ViaGateway & { long: boolean },
  io: CommandIO,
  o: ActionOptions = {},
): Promise<LsResult> {
  if (flags['via-gateway']) return gatewayLs(args.component, flags.file, io);
  const { client } = await openClient(args.component, flags, { write: false, ...loaderOf(o) });
  const { dataUnits, incomplete } = await client.ls();
  const rows: LsResult['dataUnits'] = [];
  for (const name of dataUnits) {
    if (!flags.long) {
      rows.push({ name });
      continue;
    }
    try {
      const s = await client.stat(name);
      rows.push({ name, version: s.version, protocol: s.protocol, size: s.size });
    } catch (e) {
      rows.push({ name, error: (e as Error).message });
    }
  }
  await client.close();
  if (flags.long) {
    io.log(
      table(
        ['NAME', 'VERSION', 'PROTOCOL', 'SIZE'],
        rows.map((r) => [
          r.name,
          r.version ?? '-',
          r.protocol ?? (r.error ? `error: ${r.error}` : '-'),
          r.size === undefined ? '-' : formatBytes(r.size),
        ]),
      ),
    );
  } else for (const r of rows) io.log(r.name);
  if (incomplete.length > 0) io.note(`warning: no answer from ${incomplete.join(', ')}`);
  return { component: args.component, dataUnits: rows, incomplete };
}

export async function storageRm(
  args: DataUnitArgs,
  flags: StorageFlagValues & ViaGateway,
  io: CommandIO,
  o: ActionOptions = {},
): Promise<{ du: string; removedFiles: number; incomplete: string[] }> {
  if (flags['via-gateway']) return gatewayRm(args.component, flags.file, args.name, io);
  const { client } = await openClient(args.component, flags, { write: true, ...loaderOf(o) });
  checkNameFitsClouds(args.name, client.drivers);
  const r = await client.rm(args.name);
  await client.close();
  io.log(`removed ${r.du} (${r.removedFiles} files)`);
  if (r.incomplete.length > 0) io.note(`warning: not removed from ${r.incomplete.join(', ')}; run rm again later`);
  return r;
}
