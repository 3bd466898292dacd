import { TcCommand } from '../../cli/base-command.js';
import { dataUnitArgs, storageFlags, viaGatewayFlag } from '../../cli/storage-command.js';
import { checkNameFitsClouds } from '../../components/storage/name-limits.js';
import { openClient } from '../../components/storage/open-client.js';
import { openViaGateway } from '../../components/storage/via-gateway.js';

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
  static override flags = { ...storageFlags, ...viaGatewayFlag };

  async run(): Promise<{ du: string; removedFiles: number; incomplete: string[] }> {
    const { args, flags } = await this.parse(StorageRm);
    if (flags['via-gateway']) {
      const gw = await openViaGateway(args.component, flags.topology);
      const r = await gw.call(async (c) => ({ du: args.name, incomplete: [] as string[], ...(await c.rm(args.name)) }));
      this.log(`removed ${r.du} (${r.removedFiles} files) via ${r.gateway}`);
      return r;
    }
    const { client } = await openClient(args.component, flags, { write: true });
    checkNameFitsClouds(args.name, client.drivers);
    const r = await client.rm(args.name);
    await client.close();
    this.log(`removed ${r.du} (${r.removedFiles} files)`);
    if (r.incomplete.length > 0) this.note(`warning: not removed from ${r.incomplete.join(', ')}; run rm again later`);
    return r;
  }
}
