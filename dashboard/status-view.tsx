/**
 * The interactive `tclouds status` dashboard (Ink). A pure rendering of StatusReport values plus a little
 * UI state (selected node, details, pending confirmation). Polling and process control come in as props,
 * so tests drive it with recorded reports and real key presses.
 *
 * Rows are laid out as fixed-width strings computed from the terminal width (not flexbox), so the frame is
 * identical for identical data (no jitter between refreshes) and narrow terminals drop columns instead of
 * wrapping rows.
 */

import { Box, type Key, Text, useApp, useInput, useStdout } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { decidedText } from '../components/kind-status.js';
import { formatBytes } from '../kernel/format.js';
import {
  type ComponentStatus,
  formatUptime,
  type NodeState,
  type NodeStatus,
  type PlacementStatus,
  type StatusReport,
} from './status-model.js';
import { stateLabel } from './status-text.js';

export interface NodeDetails {
  log: string[];
  metrics?: Record<string, number>;
}

export interface DashboardActions {
  kill(nodeId: string): Promise<string>;
  pause(nodeId: string): Promise<string>;
}

export interface DashboardProps {
  report: StatusReport;
  /** New reports as the poller produces them; returns an unsubscribe function. */
  subscribe?: (onReport: (r: StatusReport) => void) => () => void;
  loadDetails?: (nodeId: string) => Promise<NodeDetails>;
  /** Process control; null on cloud targets (x and p are then not offered). */
  actions?: DashboardActions | null;
  /** Fixed width (tests); otherwise the terminal width, followed on resize. */
  columns?: number;
}

const STATE_COLOR: Record<NodeState, string> = {
  ok: 'green',
  degraded: 'yellow',
  starting: 'yellow',
  stopping: 'yellow',
  paused: 'magenta',
  unresponsive: 'red',
  down: 'red',
};

function cell(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text.padEnd(width);
  return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

function useTerminalWidth(fixed?: number): number {
  const { stdout } = useStdout();
  // Read the width at every render; the resize listener only asks for a render.
  const [, bump] = useState(0);
  useEffect(() => {
    if (fixed !== undefined) return;
    const onResize = () => bump((x) => x + 1);
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, fixed]);
  return Math.max(40, fixed ?? (stdout.columns || 80));
}

function smrMetric(n: NodeStatus, wide: boolean): string {
  if (!n.up) return n.error ?? '';
  const r = n.roleInfo;
  const v = (k: string) => (typeof r[k] === 'number' ? String(r[k]) : '?');
  return wide
    ? `leader ${v('leader')} · regency ${v('regency')} · decided ${decidedText(r.lastDecided)}`
    : `L${v('leader')} r${v('regency')} d${decidedText(r.lastDecided) === 'none yet' ? '-' : v('lastDecided')}`;
}

interface Columns {
  id: number;
  state: number;
  where: number;
  address: number;
  uptime: number;
  metric: number;
}

function columnsFor(inner: number, nodes: NodeStatus[]): Columns {
  const idLen = Math.min(24, Math.max(4, ...nodes.map((n) => n.id.length + 2)));
  const where = Math.min(14, Math.max(6, ...nodes.map((n) => `${n.cloud}/${n.domain}`.length + 1)));
  const address = inner >= 100 ? Math.max(8, ...nodes.map((n) => n.address.length + 1)) : 0;
  const fixed = 2 + idLen + 13 + where + address + 8;
  return { id: idLen, state: 13, where, address, uptime: 8, metric: Math.max(8, inner - fixed) };
}

function NodeRow({ node, kind, cols, selected }: { node: NodeStatus; kind: string; cols: Columns; selected: boolean }) {
  const wide = cols.metric >= 40;
  const base = kind === 'smr' ? smrMetric(node, wide) : node.up ? node.keyMetric : (node.error ?? '');
  const metric = node.misbehaving ? `misbehaves: ${node.misbehaving} · ${base}` : base;
  const state = stateLabel(node, true);
  return (
    <Text inverse={selected} wrap="truncate">
      {selected ? '› ' : '  '}
      <Text bold={node.isLeader}>{cell(`${node.id}${node.isLeader ? '*' : ''}`, cols.id)}</Text>
      <Text color={node.misbehaving ? 'magenta' : STATE_COLOR[node.state]}>{cell(state, cols.state)}</Text>
      {cell(`${node.cloud}/${node.domain}`, cols.where)}
      {cols.address > 0 ? cell(node.address, cols.address) : ''}
      {cell(formatUptime(node.uptimeSeconds), cols.uptime)}
      {cell(metric, cols.metric).trimEnd()}
    </Text>
  );
}

function verdictColor(c: ComponentStatus): string {
  return c.verdict === 'ok' ? 'green' : c.verdict === 'degraded' ? 'yellow' : 'red';
}

function ComponentPanel({ c, width, selectedId }: { c: ComponentStatus; width: number; selectedId: string | null }) {
  const inner = width - 4;
  const cols = columnsFor(inner, c.nodes);
  const smrLine =
    c.kind === 'smr' && c.leader !== null
      ? ` · leader ${c.leader} · regency ${c.regency ?? '?'} · decided ${decidedText(c.lastDecided)}`
      : '';
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={verdictColor(c)} paddingX={1} width="100%">
      <Text wrap="truncate">
        <Text bold>{c.name}</Text>
        <Text dimColor>{` ${c.kind} · n=${c.n} f=${c.f}${smrLine}`}</Text>
      </Text>
      <Text color={verdictColor(c)} bold={c.quorumLost} wrap="truncate">
        {c.verdictLine}
      </Text>
      {c.nodes.length > 0 ? (
        <Text dimColor wrap="truncate">
          {'  '}
          {cell('node', cols.id)}
          {cell('state', cols.state)}
          {cell('cloud/pm', cols.where)}
          {cols.address > 0 ? cell('control', cols.address) : ''}
          {cell('uptime', cols.uptime)}
          {c.kind === 'smr' ? 'consensus' : 'metric'}
        </Text>
      ) : null}
      {c.nodes.map((n) => (
        <NodeRow key={n.id} node={n} kind={c.kind} cols={cols} selected={n.id === selectedId} />
      ))}
      {c.clouds.map((b) => {
        const lacks = b.reachable === true && (b.missingObjects ?? 0) > 0;
        const state = b.reachable === null ? 'not probed' : !b.reachable ? 'unreachable' : lacks ? 'lacks data' : 'ok';
        const usage =
          (b.objects === null ? '' : `${b.objects} objects · ${formatBytes(b.bytes ?? 0)}`) +
          (lacks ? ` · lacks ${b.missingObjects} data unit${b.missingObjects === 1 ? '' : 's'}` : '');
        return (
          <Text key={`${b.cloud}/${b.bucket}`} wrap="truncate">
            {'  '}
            {cell(b.cloud, Math.min(16, inner / 4))}
            <Text color={b.reachable === false ? 'red' : b.reachable && !lacks ? 'green' : 'yellow'}>
              {cell(state, 13)}
            </Text>
            {usage}
          </Text>
        );
      })}
    </Box>
  );
}

function PlacementPanel({ p }: { p: PlacementStatus }) {
  if (p.components.length === 0) return null;
  const model = `threat ${p.threat} · keep ${p.keep} · ${p.removal ? 'with removal' : 'no removal'}`;
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width="100%">
      <Text wrap="truncate">
        <Text bold>placement</Text>
        <Text dimColor>{` ${model}`}</Text>
      </Text>
      {p.components.map((c) => {
        const domains = c.domains
          .map((d) => `${d.cloud}/${d.domain} ${'●'.repeat(d.up)}${'○'.repeat(d.vms - d.up)}`)
          .join('  ');
        const probs = c.next.map((x) => `${x.faults}: ${x.pKeep === null ? 'n/a' : x.pKeep.toFixed(3)}`).join('  ');
        return (
          <Box key={c.component} flexDirection="column">
            <Text wrap="wrap">
              <Text bold>{c.component}</Text> {domains}
            </Text>
            <Text wrap="truncate" color={c.majorityNow ? undefined : 'red'}>
              {'  '}
              {c.majorityNow ? `P(keep majority) after next faults ${probs}` : 'majority already lost'}
              {p.advisor ? '' : ' (advisor not available)'}
            </Text>
          </Box>
        );
      })}
    </Box>
  );
}

function DetailsPanel({
  node,
  details,
  width,
  room,
}: {
  node: NodeStatus;
  details: NodeDetails | null;
  width: number;
  /** Lines left for metrics and log lines, so the whole frame fits the terminal (no scrolling, no flicker). */
  room: number;
}) {
  const inner = width - 4;
  const role = Object.entries(node.roleInfo)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  const metrics = Object.entries(details?.metrics ?? {}).slice(0, Math.min(6, Math.floor(room / 3)));
  const log = (details?.log ?? []).slice(-Math.max(1, room - metrics.length));
  return (
    <Box flexDirection="column" borderStyle="single" paddingX={1} width="100%">
      <Text bold wrap="truncate">
        {node.id}{' '}
        <Text dimColor>{`${node.role} #${node.index} · ${node.cloud}/pm ${node.domain} · ${node.address}`}</Text>
      </Text>
      <Text wrap="truncate">
        {`state ${node.state} · pid ${node.pid ?? '-'} · uptime ${formatUptime(node.uptimeSeconds)}`}
        {node.partitionedFrom.length > 0 ? ` · partitioned from ${node.partitionedFrom.join(',')}` : ''}
      </Text>
      {role ? <Text wrap="truncate">{cell(role, inner).trimEnd()}</Text> : null}
      {metrics.map(([k, v]) => (
        <Text key={k} dimColor wrap="truncate">
          {`${k} ${v}`}
        </Text>
      ))}
      <Text dimColor>{details ? `last log lines (${log.length})` : 'loading log…'}</Text>
      {log.map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: log lines are positional and may repeat
        <Text key={i} wrap="truncate">
          {l}
        </Text>
      ))}
    </Box>
  );
}

/** The first line: stack, target, time, nodes up and the overall verdict. */
function HeaderLine({ report }: { report: StatusReport }) {
  const { summary } = report;
  const time = report.generatedAt.slice(11, 19);
  const lost = summary.quorumLost.length > 0;
  return (
    <Text wrap="truncate">
      <Text bold>tclouds status</Text>
      {` ${report.stack} (${report.target}) ${time} · ${summary.nodes === 0 ? 'no nodes' : `${summary.up}/${summary.nodes} up`} · `}
      <Text color={lost ? 'red' : summary.degraded.length > 0 ? 'yellow' : 'green'}>
        {lost
          ? `quorum lost: ${summary.quorumLost.join(', ')}`
          : summary.degraded.length > 0
            ? `degraded: ${summary.degraded.join(', ')}`
            : 'all components ok'}
      </Text>
    </Text>
  );
}

type PendingAction = { action: 'kill' | 'pause'; id: string };

/** The last lines: a confirmation question or the last action's outcome, then the keys. */
function FooterLines({
  confirm,
  message,
  actions,
}: {
  confirm: PendingAction | null;
  message: string;
  actions: DashboardActions | null | undefined;
}) {
  return (
    <>
      {confirm ? (
        <Text color="yellow" bold wrap="truncate">
          {confirm.action === 'kill'
            ? `Kill ${confirm.id} (held down until \`tclouds chaos resume\`)? y/N`
            : `Pause ${confirm.id} (SIGSTOP until \`tclouds chaos resume\`)? y/N`}
        </Text>
      ) : message ? (
        <Text wrap="truncate">{message}</Text>
      ) : null}
      <Text dimColor wrap="truncate">
        {`↑↓/jk select · enter details${actions ? ' · x kill · p pause' : ''} · q quit   * leader`}
      </Text>
    </>
  );
}

/** The details (log tail, metrics) of the open node, reloaded whenever a new report arrives. */
function useNodeDetails(
  detailsFor: string | null,
  loadDetails: DashboardProps['loadDetails'],
  report: StatusReport,
): [NodeDetails | null, (d: NodeDetails | null) => void] {
  const [details, setDetails] = useState<NodeDetails | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: refresh on each report on purpose
  useEffect(() => {
    if (!detailsFor || !loadDetails) return;
    let live = true;
    loadDetails(detailsFor).then(
      (d) => live && setDetails(d),
      () => live && setDetails({ log: [] }),
    );
    return () => {
      live = false;
    };
  }, [detailsFor, loadDetails, report]);
  return [details, setDetails];
}

/** Lines the component panels, header and footer take; the details panel gets what is left of the screen. */
function detailsRoomOf(report: StatusReport, rows: number | undefined): number {
  const used =
    3 +
    report.components.reduce((sum, c) => sum + 4 + (c.nodes.length > 0 ? 1 + c.nodes.length : 0) + c.clouds.length, 0);
  return Math.max(2, (rows ?? 40) - used - 7);
}

export function StatusDashboard({ report: initial, subscribe, loadDetails, actions, columns }: DashboardProps) {
  const { exit } = useApp();
  const width = useTerminalWidth(columns);
  const rows = useStdout().stdout.rows as number | undefined;
  const [report, setReport] = useState(initial);
  const [selected, setSelected] = useState(0);
  const [detailsFor, setDetailsFor] = useState<string | null>(null);
  const [details, setDetails] = useNodeDetails(detailsFor, loadDetails, report);
  const [confirm, setConfirm] = useState<PendingAction | null>(null);
  const [message, setMessage] = useState<string>('');

  useEffect(() => (subscribe ? subscribe(setReport) : undefined), [subscribe]);
  useEffect(() => setReport(initial), [initial]);

  const nodes = report.components.flatMap((c) => c.nodes);
  const index = Math.min(selected, Math.max(0, nodes.length - 1));
  const current = nodes[index] ?? null;

  // Keys can arrive faster than renders: the handler reads and writes refs (always current), and the
  // state setters only trigger the next render. Otherwise a second key would see the state before the first.
  const ui = useRef({ selected: index, confirm, detailsFor });
  ui.current.selected = Math.min(ui.current.selected, Math.max(0, nodes.length - 1));
  const live = useRef({ nodes, actions });
  live.current = { nodes, actions };

  /** y runs the pending kill or pause, anything else cancels it. */
  const answer = (pending: PendingAction, input: string) => {
    const { action, id } = pending;
    const act = live.current.actions;
    ui.current.confirm = null;
    setConfirm(null);
    if (input !== 'y' && input !== 'Y') return setMessage(`${action} cancelled`);
    const run = action === 'kill' ? act?.kill(id) : act?.pause(id);
    setMessage(`${action === 'kill' ? 'killing' : 'pausing'} ${id}…`);
    run?.then(
      (m) => setMessage(m),
      (e: Error) => setMessage(`${action} ${id} failed: ${e.message}`),
    );
  };

  const onKey = (input: string, key: Key) => {
    const state = ui.current;
    const { nodes: list, actions: act } = live.current;
    if (state.confirm) return answer(state.confirm, input);
    if (input === 'q' || (key.ctrl && input === 'c')) return exit();
    const here = list[state.selected] ?? null;
    if (key.upArrow || input === 'k') {
      state.selected = Math.max(0, state.selected - 1);
      setSelected(state.selected);
    } else if (key.downArrow || input === 'j') {
      state.selected = Math.max(0, Math.min(list.length - 1, state.selected + 1));
      setSelected(state.selected);
    } else if (key.return && here) {
      state.detailsFor = state.detailsFor === here.id ? null : here.id;
      setDetailsFor(state.detailsFor);
      setDetails(null);
    } else if (key.escape) {
      state.detailsFor = null;
      setDetailsFor(null);
    } else if ((input === 'x' || input === 'p') && here) {
      if (!act) setMessage('kill and pause work on the local target only');
      else {
        state.confirm = { action: input === 'x' ? 'kill' : 'pause', id: here.id };
        setConfirm(state.confirm);
      }
    }
  };
  useInput((input, key) => {
    // Keys typed faster than the terminal is read arrive as one chunk ("jj", "j\r"): one press per character.
    if (input.length > 1 && !input.startsWith('\u001B') && !key.ctrl && !key.meta) {
      for (const ch of input) onKey(ch === '\r' ? '' : ch, { ...key, return: ch === '\r' });
    } else onKey(input, key);
  });

  const detailsNode = detailsFor ? (nodes.find((n) => n.id === detailsFor) ?? null) : null;
  return (
    // Boxes take the terminal width from Ink's own layout (immediate on resize); `width` (from the resize
    // event, one render later) only decides which columns fit, and rows truncate, so nothing ever wraps.
    <Box flexDirection="column" width={columns ?? '100%'}>
      <HeaderLine report={report} />
      {report.components.map((c) => (
        <ComponentPanel key={c.name} c={c} width={width} selectedId={current?.id ?? null} />
      ))}
      {/* The details take the placement panel's place, so the frame keeps fitting the terminal. */}
      {detailsNode ? (
        <DetailsPanel node={detailsNode} details={details} width={width} room={detailsRoomOf(report, rows)} />
      ) : (
        <PlacementPanel p={report.placement} />
      )}
      <FooterLines confirm={confirm} message={message} actions={actions} />
    </Box>
  );
}
