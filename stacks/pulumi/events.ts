/**
 * Pulumi engine events (automation/events.d.ts) -> tclouds DeployEvents (stacks/realizer.ts).
 *
 * One row per resource, keyed by its logical name (node id for VMs, shown as `node` rows); the stack itself and
 * provider plugins are engine plumbing and are left out. Diagnostics become `log` rows: errors keep their text
 * (Pulumi never prints secret values), ephemeral progress messages are dropped.
 */
import type { EngineEvent, OpType, StepEventMetadata } from '@pulumi/pulumi/automation/index.js';
import type { DeployEvent, ResourceOp } from '../realizer.js';

/** Pulumi types of the VMs: their rows are `node` rows named by node id. */
export const VM_TYPES = new Set([
  'aws:ec2/instance:Instance',
  'azure-native:compute:VirtualMachine',
  'gcp:compute/instance:Instance',
]);

export function opOf(op: OpType | string): ResourceOp {
  switch (op) {
    case 'create':
    case 'import':
    case 'create-replacement':
      return op === 'create-replacement' ? 'replace' : 'create';
    case 'update':
      return 'update';
    case 'delete':
    case 'discard':
      return 'delete';
    case 'replace':
    case 'delete-replaced':
    case 'import-replacement':
    case 'discard-replaced':
      return 'replace';
    default:
      return 'same'; // same, read, refresh, read-replacement, remove-pending-replace
  }
}

const PAST: Record<string, string> = {
  create: 'created',
  update: 'updated',
  delete: 'deleted',
  replace: 'replaced',
  same: 'unchanged',
};

export function nameOfUrn(urn: string): string {
  const i = urn.lastIndexOf('::');
  return i < 0 ? urn : urn.slice(i + 2);
}

function hidden(m: StepEventMetadata): boolean {
  return m.type === 'pulumi:pulumi:Stack' || m.type.startsWith('pulumi:providers:');
}

export interface EventSummary {
  /** Resource changes by op, from the engine's summary (same excluded from `changes`). */
  resourceChanges: Record<string, number>;
  changes: number;
  /** Error diagnostics, in order (used for the failure message). */
  errors: string[];
  cancelled: boolean;
  /** Rows that reached `failed`. */
  failed: string[];
}

/** Stateful mapper for one engine operation. `emit` receives the DeployEvents. */
export class EventMapper {
  readonly summary: EventSummary = { resourceChanges: {}, changes: 0, errors: [], cancelled: false, failed: [] };
  private readonly started = new Map<string, number>();
  private readonly ops = new Map<string, ResourceOp>();

  constructor(private readonly emit: (e: DeployEvent) => void) {}

  handle(e: EngineEvent): void {
    if (e.resourcePreEvent) {
      const m = e.resourcePreEvent.metadata;
      if (hidden(m)) return;
      const op = opOf(m.op);
      // Steps are reported once per resource, except replacements (create-replacement, delete-replaced, replace).
      if (!this.started.has(m.urn)) this.started.set(m.urn, e.timestamp);
      this.ops.set(m.urn, op);
      if (op === 'same') return; // reported as `unchanged` when its outputs arrive
      this.emit({ ...this.row(m), state: e.resourcePreEvent.planning ? 'pending' : 'running', op });
    } else if (e.resOutputsEvent) {
      const m = e.resOutputsEvent.metadata;
      if (hidden(m)) return;
      const op = this.ops.get(m.urn) ?? opOf(m.op);
      const state =
        op === 'same' ? 'unchanged' : op === 'delete' ? 'deleted' : e.resOutputsEvent.planning ? 'pending' : 'done';
      this.emit({ ...this.row(m), state, op, ...this.elapsed(m.urn, e.timestamp) });
    } else if (e.resOpFailedEvent) {
      const m = e.resOpFailedEvent.metadata;
      const row = this.row(m);
      this.summary.failed.push(row.id);
      this.emit({ ...row, state: 'failed', op: opOf(m.op), ...this.elapsed(m.urn, e.timestamp) });
    } else if (e.diagnosticEvent) {
      const d = e.diagnosticEvent;
      if (d.ephemeral || d.severity === 'info#err' || d.severity === 'info') return;
      const message = d.message.trim();
      if (message === '') return;
      if (d.severity === 'error') this.summary.errors.push(d.urn ? `${nameOfUrn(d.urn)}: ${message}` : message);
      this.emit({
        kind: 'log',
        id: d.urn ? nameOfUrn(d.urn) : 'pulumi',
        state: d.severity === 'error' ? 'failed' : 'done',
        message: d.severity === 'warning' ? `warning: ${message}` : message,
      });
    } else if (e.summaryEvent) {
      const changes = e.summaryEvent.resourceChanges ?? {};
      this.summary.resourceChanges = { ...changes };
      this.summary.changes = Object.entries(changes)
        .filter(([op]) => op !== 'same')
        .reduce((n, [, k]) => n + (k ?? 0), 0);
      const parts = Object.entries(changes)
        .filter(([, k]) => (k ?? 0) > 0)
        .map(([op, k]) => `${k} ${PAST[op] ?? op}`);
      this.emit({
        kind: 'log',
        id: 'summary',
        state: 'done',
        message: `${parts.length > 0 ? parts.join(', ') : 'no changes'} in ${Math.round(e.summaryEvent.durationSeconds)}s`,
      });
    } else if (e.cancelEvent) {
      this.summary.cancelled = true;
      this.emit({ kind: 'log', id: 'pulumi', state: 'failed', message: 'cancelled' });
    }
  }

  private row(m: StepEventMetadata): Pick<DeployEvent, 'kind' | 'id' | 'type'> {
    const name = nameOfUrn(m.urn);
    return { kind: VM_TYPES.has(m.type) ? 'node' : 'resource', id: name, type: m.type };
  }

  private elapsed(urn: string, ts: number): { elapsedMs?: number } {
    const t0 = this.started.get(urn);
    // Engine timestamps are Unix seconds.
    return t0 === undefined ? {} : { elapsedMs: Math.max(0, (ts - t0) * 1000) };
  }
}
