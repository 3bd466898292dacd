import { Flags } from '@oclif/core';
import { applyChaosRuns, type ChaosRunReport, prepareChaosRuns } from '../../chaos/run.js';
import { TcCommand } from '../../cli/base-command.js';
import { confirmAction, deploymentFlags, yesFlag } from '../../cli/chaos-command.js';
import { onInterrupt } from '../../cli/interrupt.js';
import { style } from '../../dashboard/style.js';
import { loadKeepProbability } from '../../placement/keep-probability.js';
import { loadDeployment } from '../../stacks/deployment.js';
import { KEEPS, THREATS } from '../../topology/schema.js';

export default class ChaosRun extends TcCommand {
  static override summary = 'Inject the faults a threat model draws and compare with the advisor';
  static override description =
    "For each component with nodes, draws --faults faults per run the way the threat model says (topology's " +
    '`placement` section unless overridden): byzantine-vm hits a random VM and contaminates its whole PM, ' +
    'byzantine-pm and crash-pm a random PM, crash-vm a random live VM, targeted-* the worst PM; distinct ' +
    'targets with removal. Each run is applied for real on the local target: the lost VMs are killed and held ' +
    'down, except under byzantine-vm and byzantine-pm on components whose kind has misbehaviour modes (SMR), ' +
    'whose contaminated VMs keep running but misbehave (the mode rotates by run: silent, wrong-replies, ' +
    'equivocate, censor; see `tclouds chaos byzantine`); the quorum is observed like `tclouds status` does ' +
    '(a misbehaving node counts as a fault), then everything is restarted or set back to correct, and the report ' +
    "shows, per component, whether the majority was kept, next to the placement advisor's exact probability " +
    'for the same layout and threat. --dry-run only draws (any target, no confirmation). The draw is seeded: ' +
    'the same --seed gives the same faults.\n\n' +
    'With --json prints {"stack","model","faults","seed","runs","applied","components":[{"component","layout",' +
    '"predicted","keptRate","observedRate","runs":[{"run","hits","lostNodes","injected","kept","observed"}]}]}; ' +
    '"injected" is "kill" or the misbehaviour mode.';
  static override examples = [
    '<%= config.bin %> chaos run --threat byzantine-vm --faults 3 --seed 7',
    '<%= config.bin %> chaos run --faults 2 --seed 1 --runs 200 --dry-run',
    '<%= config.bin %> chaos run --faults 1 --runs 3 --component ledger --yes --json',
  ];
  static override flags = {
    ...deploymentFlags,
    threat: Flags.option({ options: THREATS, description: 'fault model (default: the topology placement threat)' })(),
    keep: Flags.option({ options: KEEPS, description: 'majority to keep (default: the topology placement keep)' })(),
    removal: Flags.boolean({ description: 'attacks hit distinct targets (default: the topology)', allowNo: true }),
    faults: Flags.integer({ description: 'faults per run', required: true, min: 0, max: 1000 }),
    seed: Flags.string({ description: 'seed of the draw', default: '1' }),
    runs: Flags.integer({ description: 'number of runs', default: 1, min: 1, max: 100_000 }),
    component: Flags.string({ description: 'only this component (repeatable)', multiple: true }),
    'dry-run': Flags.boolean({ description: 'draw and evaluate only, inject nothing', default: false }),
    settle: Flags.integer({ description: 'ms to wait after injecting before observing', default: 1500, min: 0 }),
    ...yesFlag,
  };

  async run(): Promise<ChaosRunReport> {
    const { flags } = await this.parse(ChaosRun);
    const dep = await loadDeployment(flags.file, flags.stack);
    const model = {
      threat: flags.threat ?? dep.placement.threat,
      keep: flags.keep ?? dep.placement.keep,
      removal: flags.removal ?? dep.placement.removal,
    };
    const apply = !flags['dry-run'];
    let report = prepareChaosRuns(
      dep,
      {
        model,
        faults: flags.faults,
        seed: flags.seed,
        runs: flags.runs,
        apply,
        ...(flags.component ? { components: flags.component } : {}),
      },
      await loadKeepProbability(),
    );
    if (apply) {
      await confirmAction(
        `inject ${flags.faults} ${model.threat} fault(s) x ${flags.runs} run(s) into stack ${dep.outputs.stack}?`,
        flags.yes,
      );
      const interrupt = onInterrupt();
      try {
        report = await applyChaosRuns(dep, report, {
          settleMs: flags.settle,
          onProgress: (l) => this.note(style.dim(l, process.stderr)),
          signal: interrupt.signal,
        });
      } finally {
        interrupt.dispose();
      }
    }
    this.log(renderRun(report));
    return report;
  }
}

function renderRun(r: ChaosRunReport): string {
  const out = [
    `${r.applied ? 'applied' : 'drawn (dry run)'}: ${r.faults} ${r.model.threat} fault(s), keep ${r.model.keep}, ` +
      `${r.model.removal ? 'with' : 'no'} removal, seed ${r.seed}, ${r.runs} run(s)`,
  ];
  for (const c of r.components) {
    out.push('');
    out.push(
      `${c.component} (${c.kind}) layout [${c.layout.join(',')}] over ${c.domains.map((d) => `${d.cloud}/${d.domain}`).join(' ')}`,
    );
    if (c.runs.length <= 20) {
      for (const run of c.runs) {
        const obs = run.observed
          ? ` · observed: ${run.observed.quorumKept ? 'quorum kept' : 'QUORUM LOST'} (${run.observed.up}/${run.observed.n} up, quorum ${run.observed.quorum})`
          : '';
        out.push(
          `  run ${run.run + 1}: hits ${run.hits.join(' ') || '-'} -> lost ${run.lostNodes.join(', ') || 'nothing'}${run.injected === 'kill' || run.lostNodes.length === 0 ? '' : ` (misbehaving: ${run.injected})`} · model: ${run.kept ? 'majority kept' : 'majority lost'}${obs}`,
        );
      }
    }
    const kept = c.runs.filter((x) => x.kept).length;
    out.push(
      `  majority kept in ${kept}/${c.runs.length} runs (${c.keptRate.toFixed(3)}); advisor predicts ${c.predicted === null ? 'n/a' : c.predicted.toFixed(3)}` +
        (c.observedRate === null
          ? ''
          : `; quorum observed kept in ${(c.observedRate * c.runs.length).toFixed(0)}/${c.runs.length}`),
    );
  }
  return out.join('\n');
}
