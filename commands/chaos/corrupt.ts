import { Flags } from '@oclif/core';
import { requireLocal } from '../../chaos/actions.js';
import { type CorruptResult, corruptObject, resolveBucket } from '../../chaos/corrupt.js';
import { TcCommand } from '../../cli/base-command.js';
import { confirmAction, deploymentFlags, yesFlag } from '../../cli/chaos-command.js';
import { recordEvent } from '../../cli/log-events.js';
import { loadDeployment } from '../../stacks/deployment.js';

export default class ChaosCorrupt extends TcCommand {
  static override summary = "Flip bytes in one local cloud's copy of an object";
  static override description =
    'Damages the copy one storage cloud holds, as a faulty or malicious cloud would. --object names a data ' +
    'unit (its value files, the data blocks, are corrupted; the signed metadata is left alone) or a file ' +
    'inside the bucket. DepSky readers detect it through the digests in the signed metadata and read the ' +
    'right bytes from the other clouds. The original is kept under .tclouds/<stack>/chaos/backup; ' +
    '`tclouds chaos heal` puts it back. Local clouds only; asks for confirmation (--yes skips).\n\n' +
    'With --json prints {"cloud","bucket","files":[{"file","size","flipped"}]}.';
  static override examples = [
    '<%= config.bin %> chaos corrupt --cloud local-2 --object report.pdf',
    '<%= config.bin %> chaos corrupt --cloud local-2 --bucket quickstart-vault-local-2 --object report.pdf --bytes 64 --yes',
  ];
  static override flags = {
    ...deploymentFlags,
    cloud: Flags.string({ description: 'the cloud whose copy to damage' }),
    bucket: Flags.string({ description: 'bucket name (when the cloud has several)' }),
    object: Flags.string({ description: 'data unit or file inside the bucket', required: true }),
    bytes: Flags.integer({ description: 'bytes to flip per file', default: 16, min: 1, max: 1_000_000 }),
    ...yesFlag,
  };

  async run(): Promise<CorruptResult> {
    const { flags } = await this.parse(ChaosCorrupt);
    const dep = await loadDeployment(flags.file, flags.stack);
    requireLocal(dep);
    const b = resolveBucket(dep, flags.cloud, flags.bucket);
    await confirmAction(`corrupt ${flags.object} in ${b.cloud}/${b.name}?`, flags.yes);
    const result = await corruptObject(dep, {
      object: flags.object,
      bytes: flags.bytes,
      cloud: b.cloud,
      bucket: b.name,
    });
    for (const f of result.files) this.log(`corrupted ${f.file}: ${f.flipped} of ${f.size} bytes flipped`);
    // Event-driven logging, as for every chaos action: what was damaged, where, and by whom.
    const what = `chaos corrupt: ${flags.object} in ${b.cloud}/${b.name}, ${result.files.length} file(s), ${flags.bytes} bytes each`;
    for (const w of await recordEvent(dep.stackDir, dep.outputs.target, 'tclouds.chaos.corrupt', what)) this.note(w);
    this.log('undo with `tclouds chaos heal`');
    return result;
  }
}
