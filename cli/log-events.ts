/**
 * tclouds writes its own actions to the log components of the stack it acts on (TClouds D2.2.1, ch. 11,
 * §11.3.2, event-driven logging): every `deploy`, `destroy` and chaos action, and the storage locks and
 * reconfigurations it makes (a client-resident DepSky client reaches the clouds directly, so no node sees them),
 * with who ran it (user and host) and what it did. The entry's account is the stack's client key of the log, so an auditor can tell tclouds'
 * own entries from a producer's. Recording never fails the command: a log that is down costs one warning line.
 */
import os from 'node:os';
import path from 'node:path';
import { LogClient } from '../components/log/client.js';
import { coreClient, openDeployment } from '../components/log/deployment.js';
import type { EntryInput } from '../components/log/protocol/entry.js';
import { readOutputsFile } from '../runtime/outputs-file.js';

/** How long an action waits for the log before it gives up recording (and says so). */
export const EVENT_TIMEOUT_MS = 15_000;

/** Who ran the command: `user@host`. */
export function actor(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    /* no passwd entry (containers): keep unknown */
  }
  return `${user}@${os.hostname()}`;
}

/** Log components of a deployed stack (none when it has no outputs yet). */
async function logComponents(stackDir: string): Promise<string[]> {
  // Damaged outputs are reported by the command itself (TC501); recording only skips them.
  const outputs = await readOutputsFile(path.join(stackDir, 'outputs.json')).catch(() => null);
  return Object.entries(outputs?.components ?? {})
    .filter(([, c]) => c.kind === 'log')
    .map(([name]) => name);
}

/**
 * Appends one event of type `type` (e.g. `tclouds.deploy`) to every log component of the stack and seals it.
 * Returns the warnings to show (one per log that could not record it).
 */
export async function recordEvent(stackDir: string, target: string, type: string, msg: string): Promise<string[]> {
  const warnings: string[] = [];
  for (const component of await logComponents(stackDir)) {
    const entry: EntryInput = {
      cloud: target,
      node: os.hostname().slice(0, 128) || 'unknown',
      type,
      msg: `${msg} (by ${actor()})`,
    };
    let client: LogClient | undefined;
    try {
      const d = await openDeployment({ file: '', stackDir }, component);
      const smr = await coreClient(d, { timeoutMs: EVENT_TIMEOUT_MS });
      await smr.connect(smr.n - smr.f, Math.min(EVENT_TIMEOUT_MS, 5000));
      client = new LogClient(smr);
      await client.appendBatch([entry]);
      await client.seal();
    } catch (e) {
      warnings.push(`warning: could not record ${type} in log ${component}: ${(e as Error).message}`);
    } finally {
      await client?.close();
    }
  }
  return warnings;
}
