import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { recordEvent } from '../../cli/log-events.js';
import { dataUnitArgs, storageFlags } from '../../cli/storage-command.js';
import { DepSkyClient } from '../../components/storage/client.js';
import { StorageCode } from '../../components/storage/codes.js';
import { checkNameFitsClouds } from '../../components/storage/name-limits.js';
import { openClient } from '../../components/storage/open-client.js';
import { driverFor } from '../../components/storage/resolve.js';
import { ExitCode, TcError } from '../../kernel/errors.js';

export default class StorageReconfigure extends TcCommand {
  static override summary = 'Move a data unit to another set of clouds';
  static override description =
    'DepSky cloud reconfiguration: reads the data unit from the current clouds, creates it on the new clouds, writes ' +
    'it there as a new version, deletes it from clouds that are no longer used, and leaves a signed notice of the new ' +
    'cloud set on the remaining clouds (readers accept it only when f+1 clouds show it). --to lists the new clouds ' +
    '(declared in the topology); update the component `clouds` in the topology afterwards. Needs the writer key.\n\n' +
    'With --json prints {"du","version","removedFrom","epoch","clouds"}.';
  static override examples = [
    '<%= config.bin %> storage reconfigure vault reports/2026/q3.pdf --to aws1,azure1,gcp1,local2',
  ];
  static override args = dataUnitArgs;
  static override flags = {
    ...storageFlags,
    to: Flags.string({ description: 'comma-separated clouds of the new configuration', required: true }),
  };

  async run(): Promise<{ du: string; version: string; removedFrom: string[]; epoch: number; clouds: string[] }> {
    const { args, flags } = await this.parse(StorageReconfigure);
    const { client, resolved, writer } = await openClient(args.component, flags, { write: true });
    checkNameFitsClouds(args.name, client.drivers);
    const names = flags.to
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (new Set(names).size !== names.length) {
      throw new TcError(StorageCode.badConfig, `--to lists a cloud twice: ${flags.to}`, { exit: ExitCode.usage });
    }
    const target = new DepSkyClient({
      ...client.opts,
      drivers: names.map((c) => driverFor(resolved.loaded, args.component, c, resolved.outputs).driver),
      writer,
    });
    const r = await client.reconfigure(args.name, target);
    await client.close();
    await target.close();
    this.log(`moved ${r.du} to ${names.join(', ')} (version ${r.version}, notice epoch ${r.epoch})`);
    if (r.removedFrom.length > 0) this.log(`removed from ${r.removedFrom.join(', ')}`);
    const what =
      `${args.component}: writer ${writer} moved ${r.du} to ${names.join(', ')} (version ${r.version}, ` +
      `notice epoch ${r.epoch})${r.removedFrom.length > 0 ? `, removed from ${r.removedFrom.join(', ')}` : ''}`;
    const where = resolved.outputs?.target ?? 'local';
    for (const w of await recordEvent(resolved.stackDir, where, 'tclouds.storage.reconfigure', what)) this.note(w);
    return { ...r, clouds: names };
  }
}
