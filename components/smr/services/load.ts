/**
 * Service selection for a replica: `kv` (default), `noop`, or a path to a user JS module exporting
 * `execute(op: Uint8Array, ctx) -> Uint8Array | string`, `snapshot() -> Uint8Array | string` and
 * `restore(state: Uint8Array)`. The module must be deterministic: use ctx.timestamp and ctx.nonce (agreed by
 * the leader) instead of the clock or Math.random.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ExitCode, TcError } from '../../../kernel/errors.js';
import { SmrCode } from '../codes.js';
import { KvService, NoopService } from './kv.js';
import type { ExecContext, Service } from './service.js';

const enc = new TextEncoder();
const asBytes = (v: unknown): Uint8Array =>
  v instanceof Uint8Array ? v : typeof v === 'string' ? enc.encode(v) : enc.encode(JSON.stringify(v ?? null));

export async function loadService(name: string, baseDir = process.cwd()): Promise<Service> {
  if (name === 'kv') return new KvService();
  if (name === 'noop') return new NoopService();
  if (name === 'workflow') return (await import('../../workflow/service.js')).workflowService();
  const file = path.resolve(baseDir, name);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new TcError(SmrCode.service, `cannot load service module ${file}: ${(e as Error).message}`, {
      exit: ExitCode.invalid,
      hint: 'service is `kv`, `noop` or the path of a JS module exporting execute, snapshot and restore',
    });
  }
  const m = (mod.default && typeof mod.default === 'object' ? mod.default : mod) as Record<string, unknown>;
  for (const fn of ['execute', 'snapshot', 'restore']) {
    if (typeof m[fn] !== 'function') {
      throw new TcError(SmrCode.service, `service module ${file} does not export a function ${fn}()`, {
        exit: ExitCode.invalid,
      });
    }
  }
  const execute = m.execute as (op: Uint8Array, ctx: ExecContext) => unknown;
  const snapshot = m.snapshot as () => unknown;
  const restore = m.restore as (s: Uint8Array) => void;
  return {
    execute: (op, ctx) => {
      try {
        return asBytes(execute(op, ctx));
      } catch (e) {
        // Deterministic code fails the same way everywhere, so the error is a valid, agreed result.
        return enc.encode(JSON.stringify({ error: String((e as Error).message ?? e) }));
      }
    },
    snapshot: () => asBytes(snapshot()),
    restore: (s) => restore(s),
  };
}
