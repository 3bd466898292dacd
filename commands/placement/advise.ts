import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { style, table } from '../../dashboard/style.js';
import { advise } from '../../placement/advise.js';
import { placementError } from '../../placement/codes.js';
import { validateQuery } from '../../placement/model.js';
import { adviceRows, layoutText, pct } from '../../placement/render.js';
import type { CloudAdvice, TopologyAdvice } from '../../placement/topology-advice.js';
import type { Advice, Keep, RiskQuery, Threat } from '../../placement/types.js';

export type AdviseResult = Advice | (TopologyAdvice & { file: string });

export default class Advise extends TcCommand {
  static override summary =
    "Recommend how to lay out VMs over PMs, with exact figures and the paper's Table 1 beside it";
  static override description =
    'Finds the layout of --vms VMs on --pms PMs (each PM at least one VM, at most --max-per-pm) that maximizes the exact ' +
    'probability of keeping the majority after --attacks faults (ties: more attacks to break, then the more balanced ' +
    'layout). Method: exhaustive over all layouts when there are at most 2000, else a proven rule, else local search ' +
    "(the output says which). Shows the balanced and the most unbalanced layouts for comparison, the paper's Table 1 " +
    'cell, and notes where the exact figures disagree with it.\n\n' +
    'With --file, reads a topology and advises, for each component and each cloud it uses, the layout of its nodes over ' +
    "the cloud's `hosts`, under the file's `placement` section (flags --threat/--keep/--removal override it).\n\n" +
    'With --json: {"recommended":{"layout","pKeep","attacksToBreak"},"balanced":{...},"unbalanced":{...},' +
    '"table1","method","notes":[...],"attacks"}; with --file: {"file","placement","components":[{"component","kind",' +
    '"cloud","nodes","hosts","pms","choice","advice","hostOptions":[{"hosts","layout","pKeep","attacksToBreak"}],' +
    '"bestHosts"}],"notes"}. choice is single-node (nothing to lay out), one-per-host (the layout is forced; hostOptions ' +
    'compare asking for fewer hosts) or layout (fewer hosts than nodes: advice picks the layout).';
  static override examples = [
    '<%= config.bin %> placement advise --vms 10 --pms 5 --threat byzantine-vm --keep pm-majority',
    '<%= config.bin %> placement advise --vms 12 --pms 4 --threat crash-pm --keep vm-majority --attacks 2 --json',
    '<%= config.bin %> placement advise --vms 40 --pms 10 --max-per-pm 6 --removal',
    '<%= config.bin %> placement advise --file tclouds.yaml',
  ];
  static override flags = {
    vms: Flags.integer({ description: 'number of VMs (replicas) to place' }),
    pms: Flags.integer({ description: 'number of PMs (hosts / fault domains) to use' }),
    threat: Flags.string({
      description: 'crash-pm|crash-vm|byzantine-pm|byzantine-vm|targeted-pm|targeted-vm (default byzantine-vm)',
    }),
    keep: Flags.string({ description: 'pm-majority|vm-majority (default pm-majority)' }),
    removal: Flags.boolean({ description: 'attacks hit distinct VMs/PMs', allowNo: true }),
    attacks: Flags.integer({
      description: 'faults to survive (default: the most the balanced layout survives with P >= 1/2)',
    }),
    'max-per-pm': Flags.integer({ description: 'capacity: at most K VMs on one PM' }),
    file: Flags.string({ char: 'f', description: "topology file: advise every component over each cloud's hosts" }),
  };

  async run(): Promise<AdviseResult> {
    const { flags } = await this.parse(Advise);
    const override: Partial<RiskQuery> = {};
    if (flags.threat !== undefined) override.threat = flags.threat as Threat;
    if (flags.keep !== undefined) override.keep = flags.keep as Keep;
    if (flags.removal !== undefined) override.removal = flags.removal;
    if (flags.file !== undefined) return this.adviseFile(flags.file, override, flags.attacks, flags['max-per-pm']);
    if (flags.vms === undefined || flags.pms === undefined) {
      throw placementError('TC107', 'give --vms and --pms (or --file with a topology)', {
        hint: 'e.g. tclouds placement advise --vms 10 --pms 5',
      });
    }
    const q = validateQuery({
      threat: override.threat ?? 'byzantine-vm',
      keep: override.keep ?? 'pm-majority',
      removal: override.removal ?? false,
    });
    if (process.stderr.isTTY && flags.vms > 200)
      this.note(`searching layouts of ${flags.vms} VMs on ${flags.pms} PMs...`);
    const a = advise({ vms: flags.vms, pms: flags.pms, ...q, attacks: flags.attacks, maxPerPm: flags['max-per-pm'] });
    this.log(
      `${flags.vms} VMs on ${flags.pms} PMs; ${q.threat}, keep ${q.keep}${q.removal ? ', with removal' : ''}; after ${a.attacks} faults`,
    );
    this.renderAdvice(a);
    return a;
  }

  private renderAdvice(a: Advice, indent = ''): void {
    const rows = table(['', 'layout', 'P(kept)', 'attacks to break'], adviceRows(a));
    for (const line of rows.split('\n')) this.log(`${indent}${line}`);
    this.log(`${indent}method: ${style.bold(a.method)}; paper's Table 1: ${style.bold(a.table1)}`);
    for (const n of a.notes) {
      const text = n.startsWith('disagrees') || n.startsWith('an intermediate') ? style.yellow(n) : n;
      this.log(`${indent}- ${text}`);
    }
  }

  private renderCloud(c: CloudAdvice, notes: readonly string[]): void {
    const head = `${style.bold(c.component)} (${c.kind}) in ${style.bold(c.cloud)}: ${c.nodes} nodes`;
    if (c.choice === 'layout') {
      this.log(`${head} on ${c.pms} host${c.pms === 1 ? '' : 's'} -> ${layoutText(c.advice.recommended.layout)}`);
      this.renderAdvice({ ...c.advice, notes: [...notes] }, '  ');
      return;
    }
    // One node per host: the layout is forced, so advise on the one thing left to choose, the number of hosts.
    this.log(
      `${head}, one per host; after ${c.advice.attacks} fault${c.advice.attacks === 1 ? '' : 's'}, by hosts to ask for:`,
    );
    const rows = c.hostOptions.map((o) => [
      o.hosts === c.bestHosts ? 'best' : '',
      String(o.hosts),
      layoutText(o.layout),
      pct(o.pKeep),
      o.attacksToBreak === null ? 'never' : String(o.attacksToBreak),
    ]);
    for (const line of table(['', 'hosts', 'layout', 'P(kept)', 'attacks to break'], rows).split('\n'))
      this.log(`  ${line}`);
    const best = c.hostOptions.find((o) => o.hosts === c.bestHosts);
    const current = c.hostOptions.find((o) => o.hosts === c.nodes);
    if (best && current && best !== current) {
      const how = best.pKeep > current.pKeep ? 'to keep the majority more often than' : 'to keep it as often as';
      this.log(`  - declare \`hosts: ${best.hosts}\` for ${c.cloud} ${how} with ${c.nodes}, on fewer hosts`);
    }
    for (const n of notes) this.log(`  - ${n}`);
  }

  private async adviseFile(
    file: string,
    override: Partial<RiskQuery>,
    attacks: number | undefined,
    maxPerPm: number | undefined,
  ): Promise<AdviseResult> {
    // Loaded lazily: the topology loader brings zod and the YAML parser, which plain advice does not need.
    const [{ loadTopology }, { adviseTopology, splitNotes }] = await Promise.all([
      import('../../topology/load.js'),
      import('../../placement/topology-advice.js'),
    ]);
    const loaded = await loadTopology(file);
    if (override.threat !== undefined || override.keep !== undefined)
      validateQuery({
        threat: override.threat ?? 'byzantine-vm',
        keep: override.keep ?? 'pm-majority',
        removal: false,
      });
    const result = adviseTopology(loaded.topology, { attacks, maxPerPm, override });
    const p = result.placement;
    this.log(`${loaded.file}: ${p.threat}, keep ${p.keep}${p.removal ? ', with removal' : ''}`);
    const { shared, own } = splitNotes(result.components);
    const singles = new Map<string, CloudAdvice[]>();
    result.components.forEach((c, i) => {
      if (c.choice === 'single-node') {
        const key = `${c.component} (${c.kind})`;
        singles.set(key, [...(singles.get(key) ?? []), c]);
        return;
      }
      this.log('');
      this.renderCloud(c, own[i] ?? []);
    });
    if (singles.size > 0) this.log('');
    for (const [name, list] of singles) {
      this.log(
        `${style.bold(name)}: one node in ${list.length === 1 ? 'cloud' : 'each of'} ${list.map((c) => c.cloud).join(', ')}: nothing to lay out, the cloud is its fault domain`,
      );
    }
    if (result.components.every((c) => c.choice === 'single-node')) {
      this.log(
        '- layouts over hosts matter once a cloud holds two or more nodes of a component (more replicas than clouds, with `colocate: allowed`)',
      );
    }
    if (shared.length > 0) this.log('for every cloud above:');
    for (const n of shared) this.log(`- ${n}`);
    for (const n of result.notes) this.log(`- ${n}`);
    return { file: loaded.file, ...result };
  }
}
