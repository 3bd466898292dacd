import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { componentArg, storageFlags, viaGatewayFlag } from '../../cli/storage-command.js';
import { openClient } from '../../components/storage/open-client.js';
import { openViaGateway } from '../../components/storage/via-gateway.js';
import { table } from '../../dashboard/style.js';
import { formatBytes } from '../../kernel/format.js';

export interface LsResult {
  component: string;
  dataUnits: { name: string; version?: string; protocol?: string; size?: number; error?: string }[];
  incomplete: string[];
}

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
    long: Flags.boolean({ char: 'l', description: 'show version and size', default: false }),
  };

  async run(): Promise<LsResult> {
    const { args, flags } = await this.parse(StorageLs);
    if (flags['via-gateway']) {
      const gw = await openViaGateway(args.component, flags.topology);
      const r = await gw.call(async (c) => c.ls());
      for (const name of r.dataUnits) this.log(name);
      return { component: args.component, dataUnits: r.dataUnits.map((name) => ({ name })), incomplete: [] };
    }
    const { client } = await openClient(args.component, flags, { write: false });
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
      this.log(
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
    } else for (const r of rows) this.log(r.name);
    if (incomplete.length > 0) this.note(`warning: no answer from ${incomplete.join(', ')}`);
    return { component: args.component, dataUnits: rows, incomplete };
  }
}
