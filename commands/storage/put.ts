import { Args, Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { type PutOutcome, storagePut } from '../../cli/storage-actions.js';
import { componentArg, storageFlags, viaGatewayFlag } from '../../cli/storage-command.js';

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
    '<%= config.bin %> storage put vault report.pdf --via-gateway',
  ];
  static override args = {
    component: componentArg,
    file: Args.string({ description: 'file to store, or - for standard input', required: true }),
  };
  static override flags = {
    ...storageFlags,
    ...viaGatewayFlag,
    ...viaGatewayFlag,
    as: Flags.string({ description: 'data unit name (default: the file name)' }),
    protocol: Flags.string({ description: 'override the component protocol', options: ['depsky-a', 'depsky-ca'] }),
  };

  async run(): Promise<PutOutcome> {
    const { args, flags } = await this.parse(StoragePut);
    return storagePut(args, flags, this.io());
  }
}
