import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { dataUnitArgs, interruptSignal, progressBar, storageFlags, viaGatewayFlag } from '../../cli/storage-command.js';
import type { GetInfo } from '../../components/storage/client.js';
import { StorageCode } from '../../components/storage/codes.js';
import { checkNameFitsClouds } from '../../components/storage/name-limits.js';
import { openClient } from '../../components/storage/open-client.js';
import { openViaGateway } from '../../components/storage/via-gateway.js';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { formatBytes } from '../../kernel/format.js';

export default class StorageGet extends TcCommand {
  static override summary = 'Read the current version of a data unit to a file or to standard output';
  static override description =
    'Reads the highest correctly signed version from n-f clouds, then the value from the fastest cloud (DepSky-A) or ' +
    'f+1 blocks (DepSky-CA), checking every byte against the signed digests; corrupt, stale or forged copies are ' +
    'skipped. Output files are written atomically (nothing is left half-written); standard output gets only verified ' +
    'bytes. Readers need only the verification key (--pubkey).\n\n' +
    'With --json (requires --output) prints {"du","version","protocol","size","from","rejected","dataGets","output"}.';
  static override examples = [
    '<%= config.bin %> storage get vault reports/2026/q3.pdf -o q3.pdf',
    '<%= config.bin %> storage get vault reports/2026/q3.pdf > q3.pdf',
    '<%= config.bin %> storage get vault reports/2026/q3.pdf -o q3.pdf --via-gateway',
  ];
  static override args = dataUnitArgs;
  static override flags = {
    ...storageFlags,
    ...viaGatewayFlag,
    output: Flags.string({ char: 'o', description: 'file to write (default: standard output)' }),
    prefer: Flags.string({
      description: 'comma-separated clouds to read data from first (e.g. the cheapest); default: fastest first',
    }),
  };

  async run(): Promise<GetInfo & { output: string }> {
    const { args, flags } = await this.parse(StorageGet);
    if (this.jsonEnabled() && !flags.output) {
      throw new TcError(StorageCode.badName, '--json prints the result on stdout: give the data a file with --output', {
        exit: ExitCode.usage,
      });
    }
    if (flags['via-gateway']) return this.viaGateway(args.component, args.name, flags.topology, flags.output);
    const { signal, dispose } = interruptSignal();
    const bar = progressBar(!this.jsonEnabled() && flags.output !== undefined, `get ${args.name}`);
    try {
      const { client, resolved } = await openClient(args.component, flags, { write: false, progress: bar.update });
      checkNameFitsClouds(args.name, client.drivers);
      if (flags.prefer) {
        const names = resolved.spec.clouds;
        const preference = flags.prefer.split(',').map((c) => {
          const i = names.indexOf(c.trim());
          if (i < 0) {
            throw new TcError(StorageCode.badConfig, `--prefer: "${c}" is not a cloud of ${args.component}`, {
              exit: ExitCode.usage,
              hint: `clouds: ${names.join(', ')}`,
            });
          }
          return i;
        });
        client.opts.read = { ...client.opts.read, preference };
      }
      const info = flags.output
        ? await client.getToFile(args.name, flags.output, { signal })
        : await client.getToStream(args.name, process.stdout, { signal });
      bar.end();
      await client.close();
      for (const r of info.rejected) this.note(`warning: ${r.cloud}: ${r.reason}`);
      if (flags.output) {
        this.log(
          `read ${info.du} version ${info.version} (${formatBytes(info.size)}) from ${info.from.join(', ')} into ${flags.output}`,
        );
      }
      return { ...info, output: flags.output ?? '-' };
    } finally {
      bar.end();
      dispose();
    }
  }

  /** Through a gateway: it verified the bytes against the clouds; its answer is authenticated (MAC). */
  private async viaGateway(
    component: string,
    du: string,
    topology: string,
    output: string | undefined,
  ): Promise<GetInfo & { output: string; gateway: string }> {
    const gw = await openViaGateway(component, topology);
    const r = await gw.call(async (c) => c.get(du));
    if (output) await writeFileAtomic(output, r.bytes);
    else await new Promise<void>((res, rej) => process.stdout.write(r.bytes, (e) => (e ? rej(e) : res())));
    if (output)
      this.log(`read ${du} version ${r.version} (${formatBytes(r.bytes.length)}) via ${r.gateway} into ${output}`);
    const info = await gw.call(async (c) => c.stat(du));
    return {
      du,
      version: r.version,
      protocol: info.protocol,
      size: r.bytes.length,
      from: [],
      rejected: [],
      dataGets: 0,
      output: output ?? '-',
      gateway: r.gateway,
    };
  }
}
