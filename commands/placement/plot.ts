import path from 'node:path';
import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { table } from '../../dashboard/style.js';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import { renderTerminalChart } from '../../placement/chart.js';
import { placementError } from '../../placement/codes.js';
import { type Chart, curveSeries, paperFigure } from '../../placement/figures.js';
import { parseLayout } from '../../placement/layout.js';
import { validateQuery } from '../../placement/model.js';
import { parseAttackRange } from '../../placement/range.js';
import { layoutText } from '../../placement/render.js';
import type { Keep, Threat } from '../../placement/types.js';

export type PlotResult = Chart & { figure: number | null; out: string | null };

export default class Plot extends TcCommand {
  static override summary = 'Plot exact keep-the-majority curves of several layouts (SVG file or terminal chart)';
  static override description =
    'Draws P(majority kept) against the number of faults for each --layout (repeat the flag), or reproduces one of the ' +
    "paper's Figures 2-5 exactly with --figure (2: 5 PMs, 3: 21 PMs, 4: attacks to break by number of PMs, 5: by " +
    'unbalance factor). --out FILE.svg writes a self-contained SVG (atomically); --chart prints an ASCII chart. ' +
    'Without either, prints the values as a table.\n\n' +
    'With --json: {"figure","title","xLabel","yLabel","yKind","series":[{"label","points":[{"x","y"}]}],"out"}.';
  static override examples = [
    '<%= config.bin %> placement plot --layout 6,1,1,1,1 --layout 2,2,2,2,2 --attacks 0..20 --chart',
    '<%= config.bin %> placement plot --figure 2 --out fig2.svg',
    '<%= config.bin %> placement plot --figure 4 --chart',
    '<%= config.bin %> placement plot --layout 4,4,4 --layout 10,1,1 --threat crash-pm --keep vm-majority --out crash.svg',
  ];
  static override flags = {
    layout: Flags.string({
      description: 'VMs per PM (repeatable), e.g. --layout 6,1,1,1,1 --layout 2,2,2,2,2',
      multiple: true,
    }),
    threat: Flags.string({
      description: 'crash-pm|crash-vm|byzantine-pm|byzantine-vm|targeted-pm|targeted-vm',
      default: 'byzantine-vm',
    }),
    keep: Flags.string({ description: 'pm-majority|vm-majority', default: 'pm-majority' }),
    removal: Flags.boolean({ description: 'attacks hit distinct VMs/PMs', default: false }),
    attacks: Flags.string({ description: 'attack counts a..b', default: '0..20' }),
    figure: Flags.integer({ description: "reproduce the paper's Figure 2, 3, 4 or 5" }),
    out: Flags.string({ char: 'o', description: 'write an SVG file' }),
    chart: Flags.boolean({ description: 'print a terminal chart', default: false }),
  };

  async run(): Promise<PlotResult> {
    const { flags } = await this.parse(Plot);
    let chart: Chart;
    if (flags.figure !== undefined) {
      chart = paperFigure(flags.figure);
    } else {
      if (!flags.layout || flags.layout.length === 0) {
        throw placementError('TC110', 'nothing to plot: give --figure 2..5 or at least one --layout', {
          exit: 2,
          hint: 'e.g. --layout 6,1,1,1,1 --layout 2,2,2,2,2',
        });
      }
      const q = validateQuery({ threat: flags.threat as Threat, keep: flags.keep as Keep, removal: flags.removal });
      const range = parseAttackRange(flags.attacks);
      const layouts = flags.layout.map((l) => parseLayout(l));
      chart = {
        title: `P(${q.keep} kept), ${q.threat}${q.removal ? ', with removal' : ''}`,
        xLabel: 'attacks',
        yLabel: `P(${q.keep === 'pm-majority' ? 'PM' : 'VM'} majority kept)`,
        yKind: 'probability',
        series: layouts.map((l) => curveSeries(layoutText(l), l, q, range.from, range.to)),
      };
    }
    let out: string | null = null;
    if (flags.out !== undefined) {
      if (path.extname(flags.out).toLowerCase() !== '.svg') {
        throw placementError('TC112', `--out ${flags.out}: the file must end in .svg`, { exit: 2 });
      }
      out = path.resolve(flags.out);
      const { renderSvg } = await import('../../placement/svg.js');
      try {
        // The directory must exist: a typo in --out should fail, not create a tree of directories.
        await writeFileAtomic(out, renderSvg(chart), { mkdir: false });
      } catch (e) {
        throw placementError(
          'TC111',
          `cannot write ${flags.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          {
            exit: 1,
            hint: 'check that the directory exists and is writable',
            cause: e,
          },
        );
      }
    }
    if (flags.chart) {
      for (const line of renderTerminalChart(chart)) this.log(line);
    } else if (out === null) {
      this.log(chart.title);
      const xs = [...new Set(chart.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
      const fmt = (y: number | undefined) =>
        y === undefined || Number.isNaN(y) ? '-' : chart.yKind === 'probability' ? y.toFixed(4) : String(y);
      this.log(
        table(
          [chart.xLabel, ...chart.series.map((s) => s.label)],
          xs.map((x) => [
            Number.isInteger(x) ? String(x) : x.toFixed(3),
            ...chart.series.map((s) => fmt(s.points.find((p) => p.x === x)?.y)),
          ]),
        ),
      );
    }
    if (out !== null) this.log(`wrote ${out}`);
    return { figure: flags.figure ?? null, ...chart, out };
  }
}
