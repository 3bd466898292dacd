/**
 * The static rendering of a StatusReport (no TTY, pipes, CI logs): plain aligned tables, color only via
 * style.ts. Same data as the Ink dashboard and as --json.
 */

import { formatBytes } from '../kernel/format.js';
import { formatUptime, type NodeStatus, type StatusReport } from './status-model.js';
import { style, table } from './style.js';

export function renderStatusText(r: StatusReport, stream: NodeJS.WriteStream = process.stdout): string {
  const out: string[] = [];
  const { summary } = r;
  const headline =
    summary.quorumLost.length > 0
      ? style.red(`quorum lost: ${summary.quorumLost.join(', ')}`, stream)
      : summary.degraded.length > 0
        ? style.yellow(`degraded: ${summary.degraded.join(', ')}`, stream)
        : style.green('all components ok', stream);
  out.push(
    `${style.bold('tclouds status', stream)} ${r.stack} (${r.target}) ${r.generatedAt.slice(0, 19).replace('T', ' ')} UTC · ${summary.nodes === 0 ? 'no nodes' : `${summary.up}/${summary.nodes} nodes up`} · ${headline}`,
  );
  for (const c of r.components) {
    const paint = c.verdict === 'ok' ? style.green : c.verdict === 'degraded' ? style.yellow : style.red;
    out.push('');
    const smr = c.kind === 'smr' && c.leader !== null ? ` · leader ${c.leader} · regency ${c.regency ?? '?'}` : '';
    out.push(`${style.bold(c.name, stream)} ${c.kind} n=${c.n} f=${c.f}${smr}  ${paint(c.verdictLine, stream)}`);
    if (c.nodes.length > 0) {
      out.push(
        table(
          ['NODE', 'STATE', 'CLOUD/PM', 'CONTROL', 'UPTIME', c.kind === 'smr' ? 'CONSENSUS' : 'METRIC'],
          c.nodes.map((n) => [
            `${n.id}${n.isLeader ? '*' : ''}`,
            stateLabel(n),
            `${n.cloud}/${n.domain}`,
            n.address,
            formatUptime(n.uptimeSeconds),
            n.up ? n.keyMetric : (n.error ?? ''),
          ]),
        ),
      );
    }
    if (c.clouds.length > 0) {
      out.push(
        table(
          ['CLOUD', 'BUCKET', 'STATE', 'OBJECTS', 'BYTES'],
          c.clouds.map((b) => [
            b.cloud,
            b.bucket,
            b.reachable === null
              ? 'not probed'
              : !b.reachable
                ? 'unreachable'
                : b.missingObjects
                  ? `lacks ${b.missingObjects} data unit${b.missingObjects === 1 ? '' : 's'}`
                  : 'ok',
            b.objects === null ? '-' : String(b.objects),
            b.bytes === null ? '-' : formatBytes(b.bytes),
          ]),
        ),
      );
    }
  }
  const p = r.placement;
  if (p.components.length > 0) {
    out.push('');
    out.push(
      `${style.bold('placement', stream)} threat ${p.threat} · keep ${p.keep} · ${p.removal ? 'with removal' : 'no removal'}` +
        (p.advisor ? '' : ' (advisor not available)'),
    );
    const ks = p.components[0]!.next.map((x) => x.faults);
    out.push(
      table(
        ['COMPONENT', 'FAULT DOMAINS (up/vms)', ...ks.map((k) => `P(KEEP) +${k}`)],
        p.components.map((c) => [
          c.component,
          c.domains.map((d) => `${d.cloud}/${d.domain} ${d.up}/${d.vms}`).join('  '),
          ...c.next.map((x) => (!c.majorityNow ? 'lost' : x.pKeep === null ? 'n/a' : x.pKeep.toFixed(3))),
        ]),
      ),
    );
  }
  return out.join('\n');
}

/**
 * A node's state with what chaos did to it, e.g. `ok/partitioned`, `ok/byzantine:wrong-replies`; `short` for
 * narrow columns (`ok/part`, `ok/byz`, the mode then goes in the metric column).
 */
export function stateLabel(n: NodeStatus, short = false): string {
  if (!n.up) return n.state;
  const marks: string[] = [n.state];
  if (n.partitionedFrom.length > 0) marks.push(short ? 'part' : 'partitioned');
  if (n.misbehaving) marks.push(short ? 'byz' : `byzantine:${n.misbehaving}`);
  return marks.join('/');
}
