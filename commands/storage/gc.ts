import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { dataUnitArgs, storageFlags } from '../../cli/storage-command.js';
import { checkNameFitsClouds } from '../../components/storage/name-limits.js';
import { openClient } from '../../components/storage/open-client.js';
import { versionString } from '../../components/storage/protocol/names.js';

export interface GcOutput {
  du: string;
  current: string;
  keptFrom: string;
  removed: number;
  incomplete: string[];
}

export default class StorageGc extends TcCommand {
  static override summary = 'Remove old versions of a data unit, keeping the newest ones';
  static override description =
    'DepSky keeps every version by default. gc lists the value files on every cloud and removes those older than the ' +
    '--keep newest versions; the current signed version is never removed. Needs the writer key.\n\n' +
    'With --json prints {"du","current","keptFrom","removed","incomplete"}.';
  static override examples = ['<%= config.bin %> storage gc vault reports/2026/q3.pdf --keep 3'];
  static override args = dataUnitArgs;
  static override flags = {
    ...storageFlags,
    keep: Flags.integer({ description: 'versions to keep', default: 1, min: 1 }),
  };

  async run(): Promise<GcOutput> {
    const { args, flags } = await this.parse(StorageGc);
    const { client } = await openClient(args.component, flags, { write: true });
    checkNameFitsClouds(args.name, client.drivers);
    const r = await client.gc(args.name, flags.keep);
    await client.close();
    const out = {
      du: r.du,
      current: versionString(r.current),
      keptFrom: versionString(r.keptFrom),
      removed: r.removed,
      incomplete: r.incomplete,
    };
    this.log(`${out.du}: kept versions ${out.keptFrom}..${out.current}, removed ${out.removed} old value files`);
    if (r.incomplete.length > 0) this.note(`warning: incomplete on ${r.incomplete.join(', ')}`);
    return out;
  }
}
