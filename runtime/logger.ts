/**
 * Structured JSON-lines logger implementing runtime/role.ts `Logger`: one object per line
 * `{"ts":"...","level":"info","msg":"...",...fields}` to every sink (node.log file and stderr).
 * Fields named like secrets are redacted, so a careless caller cannot leak a key or token into a log.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { LogFields, Logger } from './role.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET = /(token|secret|password|privatekey|private_key|authorization)/i;

export interface LogSink {
  write(line: string): void;
}

export class JsonLogger implements Logger {
  constructor(
    private readonly sinks: LogSink[],
    private readonly base: LogFields = {},
    private readonly minLevel: Level = 'info',
  ) {}

  private emit(level: Level, msg: string, fields?: LogFields): void {
    if (ORDER[level] < ORDER[this.minLevel]) return;
    const rec: Record<string, unknown> = { ts: new Date().toISOString(), level, msg, ...this.base };
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = SECRET.test(k) ? '[redacted]' : v;
    let line: string;
    try {
      line = JSON.stringify(rec, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    } catch {
      line = JSON.stringify({ ts: rec.ts, level, msg, note: 'fields not serialisable' });
    }
    for (const s of this.sinks) s.write(`${line}\n`);
  }

  debug(msg: string, fields?: LogFields): void {
    this.emit('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.emit('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.emit('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.emit('error', msg, fields);
  }
  child(fields: LogFields): Logger {
    return new JsonLogger(this.sinks, { ...this.base, ...fields }, this.minLevel);
  }
}

/** Append-only file sink (created with its directory). close() flushes. */
export function fileSink(file: string): LogSink & { close(): Promise<void> } {
  mkdirSync(path.dirname(file), { recursive: true });
  const stream: WriteStream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  stream.on('error', () => {});
  return {
    write: (line) => {
      stream.write(line);
    },
    close: () => new Promise((resolve) => stream.end(resolve)),
  };
}

export const stderrSink: LogSink = {
  write: (line) => {
    process.stderr.write(line);
  },
};

export const nullLogger: Logger = new JsonLogger([]);
