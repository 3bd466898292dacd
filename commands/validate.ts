import { TcCommand } from '../cli/base-command.js';
import { renderProblem } from '../cli/problems.js';
import { topologyFileArg, topologyFileFlag, topologyFileOf } from '../cli/topology-file.js';
import { style } from '../dashboard/style.js';
import { type ValidationReport, validateTopologyFile } from '../topology/report.js';

export default class Validate extends TcCommand {
  static override summary = 'Check a topology file and show every problem at once';
  static override description =
    'Parses the YAML (keeping line and column of every node), checks it against the schema, applies the ' +
    'defaults and runs the semantic rules (n >= 3f+1 clouds for storage, replica counts, colocation, ' +
    'deployment-mode rules). Every problem is printed as `file:line:column error CODE message` with a hint.\n\n' +
    'Exit codes: 0 valid (warnings allowed), 3 invalid, 4 file missing, unreadable or a directory.\n\n' +
    'With --json prints {"valid","topology","errors","warnings"}; `topology` has every default applied ' +
    '(null when invalid), and each problem is {"code","message","line","column","path","hint"}.';
  static override examples = [
    '<%= config.bin %> validate',
    '<%= config.bin %> validate deploy/prod.yaml',
    '<%= config.bin %> validate --json | jq .topology.components',
  ];
  static override args = {
    file: topologyFileArg,
  };
  static override flags = {
    file: topologyFileFlag,
  };

  async run(): Promise<ValidationReport> {
    const { args, flags } = await this.parse(Validate);
    const file = topologyFileOf(args.file, flags.file);
    const { report, exit, shown, problems } = await validateTopologyFile(file);
    const human = () => {
      for (const p of problems) this.log(renderProblem(p, process.stdout));
      const t = report.topology;
      if (report.valid && t) {
        const comps = Object.entries(t.components);
        const w = report.warnings.length;
        this.log(
          `${style.green('valid', process.stdout)} ${shown}: ${t.mode} mode, ${Object.keys(t.clouds).length} clouds, ` +
            `${comps.length} component${comps.length === 1 ? '' : 's'}` +
            (comps.length > 0 && comps.length <= 8 ? ` (${comps.map(([n, c]) => `${n}: ${c.kind}`).join(', ')})` : '') +
            (w > 0 ? `, ${w} warning${w === 1 ? '' : 's'}` : ''),
        );
      } else {
        const e = report.errors.length;
        const w = report.warnings.length;
        this.log(
          `${style.red('invalid', process.stdout)} ${shown}: ${e} error${e === 1 ? '' : 's'}` +
            (w > 0 ? `, ${w} warning${w === 1 ? '' : 's'}` : ''),
        );
      }
    };
    if (exit !== 0) this.finish(report, exit, human);
    human();
    return report;
  }
}
