/**
 * `deploy.lock`: one deploy or destroy of a stack at a time. The lock file holds the owner's pid; a lock whose
 * pid is gone is stale (a crashed or SIGKILLed tclouds) and is taken over. Released on every exit path,
 * including Ctrl-C (the command aborts, the realizer unwinds, `release()` runs; an `exit` hook is the last net).
 */
import { promises as fs, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { DeployCode } from '../codes.js';
import { stackPaths } from './paths.js';
import { pidAlive } from './state.js';

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface HeldLock {
  /** Set when a stale lock of a dead process was taken over. */
  staleFrom?: LockInfo;
  release(): Promise<void>;
}

export async function acquireLock(stackDir: string, command: string): Promise<HeldLock> {
  const file = stackPaths(stackDir).lock;
  // Explicit mode: with a permissive umask (000/002) the stack directory (which holds keys/) would be
  // world- or group-writable, letting another user swap keys/ or outputs.json.
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const info: LockInfo = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  let staleFrom: LockInfo | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const h = await fs.open(file, 'wx', 0o644);
      await h.writeFile(`${JSON.stringify(info)}\n`);
      await h.sync();
      await h.close();
      const onExit = () => {
        try {
          unlinkSync(file);
        } catch {}
      };
      process.once('exit', onExit);
      let released = false;
      return {
        ...(staleFrom ? { staleFrom } : {}),
        async release() {
          if (released) return;
          released = true;
          process.removeListener('exit', onExit);
          await fs.rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new TcError(DeployCode.localIo, `cannot create ${file}: ${(e as Error).message}`);
      }
    }
    const holder = await readLock(file);
    if (holder && holder.host === info.host && pidAlive(holder.pid) && holder.pid !== process.pid) {
      throw new TcError(
        DeployCode.locked,
        `stack is locked by ${holder.command} (pid ${holder.pid}, since ${holder.since})`,
        {
          exit: ExitCode.locked,
          hint: `wait for it to finish; if that process is gone for good, delete ${file}`,
        },
      );
    }
    if (holder && holder.host !== info.host) {
      throw new TcError(
        DeployCode.locked,
        `stack is locked by ${holder.command} on host ${holder.host} (pid ${holder.pid})`,
        {
          exit: ExitCode.locked,
          hint: `if no tclouds runs there any more, delete ${file}`,
        },
      );
    }
    // Stale (dead pid, or unreadable half-written lock): take it over.
    if (holder) staleFrom = holder;
    await fs.rm(file, { force: true });
  }
  throw new TcError(DeployCode.locked, `cannot take the lock ${file}: another process keeps taking it`, {
    exit: ExitCode.locked,
  });
}

async function readLock(file: string): Promise<LockInfo | null> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as LockInfo;
    return typeof parsed.pid === 'number' ? parsed : null;
  } catch {
    return null;
  }
}
