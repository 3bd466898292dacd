import { createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Args, Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { componentArg, interruptSignal, progressBar, storageFlags, viaGatewayFlag } from '../../cli/storage-command.js';
import type { PutResult } from '../../components/storage/client.js';
import { StorageCode } from '../../components/storage/codes.js';
import { checkNameFitsClouds } from '../../components/storage/name-limits.js';
import { openClient } from '../../components/storage/open-client.js';
import { openViaGateway } from '../../components/storage/via-gateway.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { formatBytes } from '../../kernel/format.js';

export default class StoragePut extends TcCommand {
  static override summary = 'Write a file as a new version of a data unit';
  static override description =
    'Stores the file over the n clouds of a storage component with DepSky-A (replicated, streamed from the file) or ' +
    'DepSky-CA (AES-256-GCM with a fresh key, key split by Shamir secret sharing, ciphertext erasure-coded: each cloud ' +
    'holds about 1/(f+1) of it and learns nothing). The write completes once n-f clouds stored the value and then the ' +
    'signed metadata. `-` reads standard input. Needs the writer key.\n\n' +
    'With --json prints {"du","version","protocol","size","bytesPerCloud","acked","failed"}.';
  static override examples = [
    '<%= config.bin %> storage put vault report.pdf --as reports/2026/q3.pdf',
    'tar c docs | <%= config.bin %> storage put vault - --as backups/docs.tar --protocol depsky-a',
    '<%= config.bin %> storage put vault report.pdf --via-gateway',
  ];
  static override args = {
    component: componentArg,
    file: Args.string({ description: 'file to store, or - for standard input', required: true }),
  };
  static override flags = {
    ...storageFlags,
    ...viaGatewayFlag,
    as: Flags.string({ description: 'data unit name (default: the file name)' }),
    protocol: Flags.string({ description: 'override the component protocol', options: ['depsky-a', 'depsky-ca'] }),
  };

  async run(): Promise<PutResult> {
    const { args, flags } = await this.parse(StoragePut);
    const du = flags.as ?? (args.file === '-' ? undefined : path.basename(args.file));
    if (!du)
      throw new TcError(StorageCode.badName, 'reading standard input needs --as <name>', { exit: ExitCode.usage });
    let file = args.file;
    let tmpDir: string | undefined;
    const { signal, dispose } = interruptSignal();
    try {
      if (file === '-') {
        // Spool stdin to a private temp file: DepSky-A hashes before uploading and each cloud reads it separately.
        tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tclouds-put-'));
        file = path.join(tmpDir, 'stdin');
        await pipeline(process.stdin, createWriteStream(file, { mode: 0o600 }), { signal });
      } else {
        const st = await fs.stat(file).catch(() => undefined);
        if (!st?.isFile()) {
          throw new TcError(StorageCode.badName, `${file} is not a readable file`, { exit: ExitCode.notFound });
        }
      }
      if (flags['via-gateway']) {
        const gw = await openViaGateway(args.component, flags.topology);
        const data = await fs.readFile(file);
        const r = await gw.call(async (c) => (await c.put(du, data)) as PutResult);
        this.log(`stored ${du} version ${r.version} (${r.protocol}, ${formatBytes(r.size)}) via ${r.gateway}`);
        return r;
      }
      const size = (await fs.stat(file)).size;
      const bar = progressBar(!this.jsonEnabled() && size >= 8 << 20, `put ${du}`);
      const { client } = await openClient(args.component, flags, { write: true, progress: bar.update });
      checkNameFitsClouds(du, client.drivers);
      try {
        const r = await client.put(
          du,
          { file },
          { ...(flags.protocol ? { protocol: flags.protocol as 'depsky-a' | 'depsky-ca' } : {}), signal },
        );
        bar.end();
        const { unfinishedCopies } = await client.close();
        this.log(
          `stored ${du} version ${r.version} (${r.protocol}, ${formatBytes(r.size)}, ${formatBytes(r.bytesPerCloud)} per cloud) on ${r.acked.join(', ')}`,
        );
        for (const f of r.failed) this.note(`warning: ${f.cloud}: ${f.reason}`);
        if (unfinishedCopies > 0)
          this.note(`warning: ${unfinishedCopies} cloud copies did not finish; a quorum has the data`);
        return r;
      } finally {
        bar.end();
      }
    } finally {
      dispose();
      if (tmpDir) await fs.rm(tmpDir, { recursive: true, force: true });
    }
  }
}
