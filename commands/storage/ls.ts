import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { type LsResult, storageLs } from '../../cli/storage-actions.js';
import { componentArg, storageFlags, viaGatewayFlag } from '../../cli/storage-command.js';

export type { LsResult } from '../../cli/storage-actions.js';

export default class StorageLs extends TcCommand {
  static override summary = 'List the data units of a storage component';
  static override description =
    'A data unit is listed when at least f+1 clouds hold it (f faulty clouds cannot invent one). --long also reads ' +
    "each one's signed metadata (version, protocol, size). Clouds that did not answer are listed as incomplete.\n\n" +
    'With --json prints {"component","dataUnits":[{"name","version","protocol","size"}],"incomplete"}.';
  static override examples = [
    '<%= config.bin %> storage ls vault',
    '<%= config.bin %> storage ls vault --long --json',
    '<%= config.bin %> storage ls vault --via-gateway',
  ];
  static override args = { component: componentArg };
  static override flags = {
    ...storageFlags,
    ...viaGatewayFlag,
    ...viaGatewayFlag,
    long: Flags.boolean({ char: 'l', description: 'show version and size', default: false }),
  };

  async run(): Promise<LsResult> {
    const { args, flags } = await this.parse(StorageLs);
    return storageLs(args, flags, this.io());
  }
}
