import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { style, table } from '../../dashboard/style.js';
import { expectedCleanVms, expectedFailedPms } from '../../placement/equations.js';
import { parseLayout } from '../../placement/layout.js';
import { validateQuery } from '../../placement/model.js';
import { parseAttackRange } from '../../placement/range.js';
import { bar, layoutText, pct } from '../../placement/render.js';
import { attacksToBreak, keepCurve } from '../../placement/risk.js';
import type { Keep, Layout, Threat } from '../../placement/types.js';

export interface WhatifResult {
  layout: Layout;
  threat: Threat;
  keep: Keep;
  removal: boolean;
  curve: { attacks: number; pKeep: number; expectedFailedPms: number; expectedCorrectVms: number }[];
  attacksToBreak: number | null;
}

export default class Whatif extends TcCommand {
  static override summary = 'Exact probability of keeping the majority after each number of faults, for one layout';
  static override description =
    'Computes P(majority kept) exactly (no simulation) for the given VMs-per-PM layout under one of the six threats of the ' +
    'placement paper, for every attack count in --attacks, plus the attacks to break (smallest n with P(kept) < 1/2), ' +
    'the expected number of lost PMs (Eq. 1 for crash-vm) and the expected correct VMs (Eq. 3).\n\n' +
    'Threats: crash-pm, byzantine-pm (a uniformly random PM is lost), crash-vm (a not-yet-crashed VM crashes; a PM fails ' +
    'with its last VM), byzantine-vm (a random VM is taken and its whole PM with it), targeted-pm, targeted-vm (the attacker ' +
    'takes the most valuable PM left). --removal: attacks hit distinct VMs/PMs.\n\n' +
    'With --json: {"layout","threat","keep","removal","curve":[{"attacks","pKeep","expectedFailedPms","expectedCorrectVms"}],"attacksToBreak"}.';
  static override examples = [
    '<%= config.bin %> placement whatif --layout 6,1,1,1,1 --threat byzantine-vm --keep pm-majority --attacks 0..20',
    '<%= config.bin %> placement whatif --layout 2,2,2,2,2 --attacks 0..10 --removal --json',
    '<%= config.bin %> placement whatif --layout 4,3,3 --threat crash-pm --keep vm-majority --attacks 2',
  ];
  static override flags = {
    layout: Flags.string({ description: 'VMs per PM, comma-separated, e.g. 6,1,1,1,1', required: true }),
    threat: Flags.string({
      description: 'crash-pm|crash-vm|byzantine-pm|byzantine-vm|targeted-pm|targeted-vm',
      default: 'byzantine-vm',
    }),
    keep: Flags.string({ description: 'pm-majority|vm-majority', default: 'pm-majority' }),
    attacks: Flags.string({ description: 'attack counts a..b (or one n); default 0..max(20, 2 x attacks to break)' }),
    removal: Flags.boolean({
      description: 'attacks hit distinct VMs (byzantine-vm) or distinct PMs (crash-pm, byzantine-pm)',
      default: false,
    }),
  };

  async run(): Promise<WhatifResult> {
    const { flags } = await this.parse(Whatif);
    const layout = parseLayout(flags.layout);
    const q = validateQuery({ threat: flags.threat as Threat, keep: flags.keep as Keep, removal: flags.removal });
    const range = flags.attacks === undefined ? undefined : parseAttackRange(flags.attacks);
    const brk = attacksToBreak(layout, q);
    const from = range?.from ?? 0;
    const to = range?.to ?? Math.min(1000, Math.max(20, 2 * (brk ?? 10)));
    const curve = keepCurve(layout, q, to);
    const points: WhatifResult['curve'] = [];
    for (let n = from; n <= to; n++) {
      points.push({
        attacks: n,
        pKeep: curve[n] as number,
        expectedFailedPms: expectedFailedPms(layout, q, n),
        expectedCorrectVms: expectedCleanVms(layout, q, n),
      });
    }
    const result: WhatifResult = {
      layout,
      threat: q.threat,
      keep: q.keep,
      removal: q.removal,
      curve: points,
      attacksToBreak: brk,
    };
    const v = layout.reduce((a, b) => a + b, 0);
    this.log(
      `${style.bold(layoutText(layout))} ${layout.length} PMs, ${v} VMs; ${q.threat}, keep ${q.keep}${q.removal ? ', with removal' : ''}`,
    );
    this.log(
      table(
        ['attacks', 'P(kept)', '', 'E[lost PMs]', 'E[correct VMs]'],
        points.map((p) => [
          String(p.attacks),
          pct(p.pKeep),
          bar(p.pKeep),
          p.expectedFailedPms.toFixed(3),
          p.expectedCorrectVms.toFixed(3),
        ]),
      ),
    );
    this.log(brk === null ? 'attacks to break: never' : `attacks to break (P(kept) < 1/2): ${style.bold(String(brk))}`);
    return result;
  }
}
