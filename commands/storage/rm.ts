import { TcCommand } from '../../cli/base-command.js';
import { storageRm } from '../../cli/storage-actions.js';
import { dataUnitArgs, storageFlags, viaGatewayFlag } from '../../cli/storage-command.js';

export default class StorageRm extends TcCommand {
  static override summary = 'Destroy a data unit: every version and its container on every cloud';
  static override description =
    'Checks that the data unit is signed by this writer key, then removes all its files (metadata last) and its ' +
    'container on every cloud. Clouds that did not answer keep their copy and are reported as incomplete. Needs the writer key.\n\n' +
    'With --json prints {"du","removedFiles","incomplete"}.';
  static override examples = [
    '<%= config.bin %> storage rm vault reports/2026/q3.pdf',
    '<%= config.bin %> storage rm vault reports/2026/q3.pdf --via-gateway',
  ];
  static override args = dataUnitArgs;
  static override flags = { ...storageFlags, ...viaGatewayFlag, ...viaGatewayFlag };

  async run(): Promise<{ du: string; removedFiles: number; incomplete: string[] }> {
    const { args, flags } = await this.parse(StorageRm);
    return storageRm(args, flags, this.io());
  }
}
