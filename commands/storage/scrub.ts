import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { componentArg, storageFlags } from '../../cli/storage-command.js';
import { type ScrubOutput, storageScrub } from '../../cli/storage-scrub.js';
import { ExitCode } from '../../kernel/errors.js';

export type { ScrubOutput } from '../../cli/storage-scrub.js';

export default class StorageScrub extends TcCommand {
  static override summary = 'Check every copy of every data unit, and repair lost or damaged copies';
  static override description =
    "Reads every data unit's metadata and data files on every cloud and checks each against the signed metadata. " +
    'Per cloud and data unit a copy is ok, missing, stale (an older version), corrupt (digest or signature ' +
    'mismatch) or unreachable. A data unit is at risk when fewer clouds hold a verified copy than a read needs ' +
    'plus f spare, and lost when fewer than a read needs.\n\n' +
    'With --repair the missing, stale and corrupt copies are rewritten from verified ones at the same version ' +
    '(nothing is signed again, no version is bumped; DepSky-CA blocks are re-encoded from f+1 verified blocks), ' +
    'then checked again. Needs only the verification key. Run it while nobody writes to the component.\n\n' +
    'Exits 1 when a copy is still not ok at the end (without --repair: when any is not ok).\n\n' +
    'With --json prints {"component","repair","objects","states":{"ok","degraded","atRisk","lost"},"unresolved",' +
    '"clouds":[{"cloud","ok","missing","stale","corrupt","unreachable","repaired"}],"unlisted":[{"cloud","reason"}],' +
    '"findings":[{"du","version","protocol","copies","needed","verifiedData","state","stateAfter","repaired",' +
    '"repairFailed","clouds":[{"cloud","state","detail","rewriteData","rewriteMeta"}]}]}.';
  static override examples = [
    '<%= config.bin %> storage scrub vault',
    '<%= config.bin %> storage scrub vault --repair',
    '<%= config.bin %> storage scrub vault --json | jq ".clouds"',
  ];
  static override args = { component: componentArg };
  static override flags = {
    ...storageFlags,
    repair: Flags.boolean({
      description: 'rewrite missing, stale and corrupt copies from verified ones',
      default: false,
    }),
  };

  async run(): Promise<ScrubOutput> {
    const { args, flags } = await this.parse(StorageScrub);
    const out = await storageScrub(args, flags, this.io());
    if (out.unresolved > 0 || out.unlisted.length > 0) this.finish(out, ExitCode.failure);
    return out;
  }
}
