/**
 * How the node host feeds a node's security and availability events to an audit sink (the log component's
 * producer, components/log/audit-producer.ts, which this folder must not import): roles call `ctx.audit`, and the
 * host taps what every role already reports, its log lines and its metrics counters, so components that never
 * heard of auditing (the SMR's leader changes and state transfers, the transport's refused frames) are recorded
 * without code of theirs. The tap decides what is an event; the host only forwards. Never throws into a role.
 */
import type { NodeSpec } from './node-spec.js';
import type { Labels, LogFields, Logger, Metrics } from './role.js';

export interface AuditTap {
  /** An event a role reports itself (type e.g. `storage.write`). */
  record(type: string, msg: string): void;
  /** Every log line of the node (the tap picks the ones that are events). */
  onLog(level: string, msg: string, fields: LogFields | undefined): void;
  /** Whether increments of this counter are events (asked once per counter, so others cost nothing). */
  watchesCounter(name: string, labels: Labels): boolean;
  onCounter(name: string, labels: Labels, by: number): void;
  /** Sends what is queued (bounded by its own timeout) and stops. */
  close(): Promise<void>;
}

/** Builds a node's tap from its spec (undefined: the node records nothing). Gets the untapped logger. */
export type AuditTapFactory = (spec: NodeSpec, log: Logger, metrics: Metrics) => Promise<AuditTap | undefined>;

/** A logger that shows every line to the tap, then writes it. */
export class TappedLogger implements Logger {
  constructor(
    private readonly inner: Logger,
    private readonly tap: AuditTap,
  ) {}
  private see(level: string, msg: string, fields?: LogFields): void {
    try {
      this.tap.onLog(level, msg, fields);
    } catch {
      /* the tap never breaks logging */
    }
  }
  debug(msg: string, fields?: LogFields): void {
    this.inner.debug(msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.see('info', msg, fields);
    this.inner.info(msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.see('warn', msg, fields);
    this.inner.warn(msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.see('error', msg, fields);
    this.inner.error(msg, fields);
  }
  child(fields: LogFields): Logger {
    return new TappedLogger(this.inner.child(fields), this.tap);
  }
}

/** Metrics whose watched counters also tell the tap; everything else is the registry's own. */
export class TappedMetrics implements Metrics {
  constructor(
    private readonly inner: Metrics,
    private readonly tap: AuditTap,
  ) {}
  counter(name: string, help: string, labels: Labels = {}): { inc(by?: number): void } {
    const c = this.inner.counter(name, help, labels);
    if (!this.tap.watchesCounter(name, labels)) return c;
    return {
      inc: (by = 1) => {
        c.inc(by);
        this.tap.onCounter(name, labels, by);
      },
    };
  }
  gauge(name: string, help: string, labels?: Labels): { set(value: number): void } {
    return this.inner.gauge(name, help, labels);
  }
  histogram(name: string, help: string, labels?: Labels): { observe(value: number): void } {
    return this.inner.histogram(name, help, labels);
  }
}
