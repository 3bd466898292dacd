import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { storageGet } from '../../cli/storage-actions.js';
import { dataUnitArgs, storageFlags, viaGatewayFlag } from '../../cli/storage-command.js';
import type { GetInfo } from '../../components/storage/client.js';

export default class StorageGet extends TcCommand {
  static override summary = 'Read the current version of a data unit to a file or to standard output';
  static override description =
    'Reads the highest correctly signed version from n-f clouds, then the value from the fastest cloud (DepSky-A) or ' +
    'f+1 blocks (DepSky-CA), checking every byte against the signed digests; corrupt, stale or forged copies are ' +
    'skipped. DepSky-CA streams segment by segment, each verified before it is written, in bounded memory. Output ' +
    'files are written atomically (a temp file renamed when complete: nothing is left half-written); standard output ' +
    'gets only verified bytes. Readers need only the verification key (--pubkey).\n\n' +
    'With --json (requires --output) prints {"du","version","protocol","size","from","rejected","dataGets","output"}.';
  static override examples = [
    '<%= config.bin %> storage get vault reports/2026/q3.pdf -o q3.pdf',
    '<%= config.bin %> storage get vault backups/docs.tar --out - | tar x',
    '<%= config.bin %> storage get vault reports/2026/q3.pdf > q3.pdf',
    '<%= config.bin %> storage get vault reports/2026/q3.pdf -o q3.pdf --via-gateway',
  ];
  static override args = dataUnitArgs;
  static override flags = {
    ...storageFlags,
    ...viaGatewayFlag,
    output: Flags.string({
      char: 'o',
      aliases: ['out'],
      description: 'file to write, atomically (default, or -: standard output)',
    }),
    prefer: Flags.string({
      description: 'comma-separated clouds to read data from first (e.g. the cheapest); default: fastest first',
    }),
  };

  async run(): Promise<GetInfo & { output: string }> {
    const { args, flags } = await this.parse(StorageGet);
    return storageGet(args, flags, this.io());
  }
}
