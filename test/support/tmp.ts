/**
 * Temp directories that tests leave nothing behind in: `tempDir(prefix)` makes a fresh directory under the OS temp
 * dir and the test file removes it once all its tests and hooks are done, passed or failed. Before removing a
 * directory, any process still running from it or naming it on its command line (a supervisor, a node, a CLI a
 * timed-out test never reaped) is killed: such a process can only have been started by this test file, since the
 * path is unique, and it must not outlive the suite.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made = new Set<string>();

/** A fresh directory `<tmp>/<prefix>XXXXXX`, removed after the last test of the calling test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Kill what still runs from `dir`, then remove it (also fine when it is already gone). */
export function removeTempDir(dir: string): void {
  const strays = processesUsing(dir);
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  if (strays.length > 0) console.warn(`[test cleanup] killed ${strays.length} leftover process(es) using ${dir}`);
  // Retries cover a just-killed process that was still writing into the directory (ENOTEMPTY).
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  made.delete(dir);
}

/** Pids (other than this one) whose working directory is in `dir` or whose command line names a path in it. */
function processesUsing(dir: string): number[] {
  const inDir = (p: string) => p === dir || p.startsWith(`${dir}/`);
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids; // no procfs: nothing to scan
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const args = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      const cwd = (() => {
        try {
          return readlinkSync(`/proc/${e}/cwd`);
        } catch {
          return '';
        }
      })();
      if (inDir(cwd) || args.some((a) => a.includes(`${dir}/`) || a === dir)) pids.push(Number(e));
    } catch {} // exited meanwhile, or not ours to read
  }
  return pids;
}

// Registered when a test file imports this module (vitest evaluates modules afresh for every test file), so the
// hook belongs to that file. After-hooks run in reverse order of registration, so this one, registered before any
// of the file's own hooks, runs last: after e.g. a suite's `destroy` that still needs the directory.
// Outside vitest (benchmarks reuse the test cluster helpers) there is no suite to hook into: the directories are
// removed when the process exits instead.
if (process.env.VITEST) {
  afterAll(() => {
    for (const dir of [...made]) removeTempDir(dir);
  });
} else {
  process.once('exit', () => {
    for (const dir of [...made]) rmSync(dir, { recursive: true, force: true });
  });
}
