import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { style, table } from '../../dashboard/style.js';
import { type TableEvidence, tableEvidence } from '../../placement/evidence.js';
import { evidenceRows } from '../../placement/render.js';

export default class Table extends TcCommand {
  static override summary = "The paper's Table 1 (12 cases) with our exact evidence beside every cell";
  static override description =
    'For --vms VMs on --pms PMs, compares every layout on its exact curve P(majority kept after n faults), n = 0..horizon, ' +
    'for each of the 12 cases (6 threats x PM/VM majority), and classifies the cell: irrelevant (all curves equal), ' +
    'balanced / unbalanced (that extreme is best at every n), or mixed (the best layout depends on n, or an intermediate ' +
    'layout wins). Shows whether the paper agrees, attacks to break (balanced/unbalanced/best) and a counterexample.\n\n' +
    'With --json: {"vms","pms","removal","layouts","horizon","cells":[{"threat","keep","table1","exact","agrees",' +
    '"attacksToBreak":{"balanced","unbalanced","best","bestLayout"},"counterexamples":[{"attacks","layout","pKeep",' +
    '"balanced","unbalanced"}],"intermediate","summary"}]}.';
  static override examples = [
    '<%= config.bin %> placement table',
    '<%= config.bin %> placement table --vms 12 --pms 5 --removal',
    "<%= config.bin %> placement table --json | jq '.cells[] | select(.agrees == false)'",
  ];
  static override flags = {
    vms: Flags.integer({ description: 'number of VMs', default: 10 }),
    pms: Flags.integer({ description: 'number of PMs', default: 5 }),
    removal: Flags.boolean({ description: 'attacks hit distinct VMs/PMs', default: false }),
  };

  async run(): Promise<TableEvidence> {
    const { flags } = await this.parse(Table);
    // The 12 x (all layouts) comparison can take a few seconds for larger sizes: say so on a terminal.
    if (process.stderr.isTTY)
      this.note(`computing exact curves of every layout of ${flags.vms} VMs on ${flags.pms} PMs for 12 cases...`);
    const t = tableEvidence(flags.vms, flags.pms, flags.removal);
    this.log(
      `Table 1 vs exact figures: ${t.vms} VMs on ${t.pms} PMs${t.removal ? ', with removal' : ''}; all ${t.layouts} layouts, n = 0..${t.horizon}`,
    );
    const rows = evidenceRows(t).map((r) => (r[4] === 'NO' ? r.map((c, i) => (i === 4 ? style.yellow(c) : c)) : r));
    this.log(table(['attack', 'objective', 'Table 1', 'exact', 'agrees', 'break b/u/best', 'evidence'], rows));
    return t;
  }
}
