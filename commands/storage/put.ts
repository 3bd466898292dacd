import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { componentArg, interruptSignal, progressBar, storageFlags } from '../../cli/storage-command.js';
import type { PutResult } from '../../components/storage/client.js';
import { StorageCode } from '../../components/storage/codes.js';
import { openClient } from '../../components/storage/open-client.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { formatBytes } from '../../kernel/format.js';

export default class StoragePut extends TcCommand {
  static override summary = 'Write a file as a new version of a data unit';
  static override description =
    'Stores the file over the n clouds of a storage component with DepSky-A (replicated, streamed from the file) or ' +
    'DepSky-CA (AES-256-GCM with a fresh key, key split by Shamir secret sharing, ciphertext erasure-coded: each cloud ' +
    'holds about 1/(f+1) of it and learns nothing). DepSky-CA streams: the object is cut into segments that are sealed, ' +
    'encoded and stored while the file is read, in bounded memory, whatever its size. The write completes once n-f ' +
    'clouds stored the value and then the signed metadata; the copies of the other clouds finish in the background ' +
    'for at most 5 s before the command exits. `-` reads standard input. Needs the writer key.\n\n' +
    'With --json prints {"du","version","protocol","size","bytesPerCloud","acked","pending","failed","holders",' +
    '"unfinished"}: acked = clouds holding the object when the quorum was reached, pending = clouds still receiving ' +
    'it then, holders = clouds holding it at exit, unfinished = late copies cut by the time bound.';
  static override examples = [
    '<%= config.bin %> storage put vault report.pdf --as reports/2026/q3.pdf',
    'tar c docs | <%= config.bin %> storage put vault - --as backups/docs.tar --protocol depsky-a',
  ];
  static override args = {
    component: componentArg,
    file: Args.string({ description: 'file to store, or - for standard input', required: true }),
  };
  static override flags = {
    ...storageFlags,
    as: Flags.string({ description: 'data unit name (default: the file name)' }),
    protocol: Flags.string({ description: 'override the component protocol', options: ['depsky-a', 'depsky-ca'] }),
  };

  async run(): Promise<PutResult & { holders: string[]; unfinished: string[] }> {
    const { args, flags } = await this.parse(StoragePut);
    const du = flags.as ?? (args.file === '-' ? undefined : path.basename(args.file));
    if (!du)
      throw new TcError(StorageCode.badName, 'reading standard input needs --as <name>', { exit: ExitCode.usage });
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
      const bar = progressBar(!this.jsonEnabled() && size >= 8 << 20, `put ${du}`);
      const { client } = await openClient(args.component, flags, { write: true, progress: bar.update });
      try {
        // Both sources stream: DepSky-CA segment by segment, DepSky-A from the file (stdin is spooled first).
        const source = args.file === '-' ? { stream: process.stdin } : { file: args.file };
        const r = await client.put(du, source, {
          ...(flags.protocol ? { protocol: flags.protocol as 'depsky-a' | 'depsky-ca' } : {}),
          signal,
        });
        bar.end();
        this.log(
          `stored ${du} version ${r.version} (${r.protocol}, ${formatBytes(r.size)}, ${formatBytes(r.bytesPerCloud)} per cloud) on ${r.acked.join(', ')}` +
            (r.pending.length > 0 ? `; finishing ${r.pending.join(', ')}` : ''),
        );
        for (const f of r.failed) this.note(`warning: ${f.cloud}: ${f.reason}`);
        // The copies of the clouds outside the quorum go on in this process, for at most LATE_COPY_MS.
        const late = await client.close();
        const holders = [...new Set([...r.acked, ...late.stored])].sort();
        if (late.unfinished.length > 0)
          this.note(
            `warning: the copies on ${late.unfinished.join(', ')} did not finish; ${holders.join(', ')} hold it`,
          );
        else if (r.pending.length > 0) this.log(`copies on ${late.stored.join(', ')} finished`);
        return { ...r, holders, unfinished: late.unfinished };
      } finally {
        bar.end();
      }
    } finally {
      dispose();
    }
  }
}
