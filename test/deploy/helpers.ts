/**
 * Test helpers for the deploy suite: run the built CLI (`node bin/run.js ...`) as a user would, in a temp
 * directory, and parse its newline-delimited JSON output.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type CliRun, runCli } from '../support/cli.js';

export { bin, repo, tempDir } from '../support/cli.js';

export interface CliResult extends CliRun {
  /** Parsed JSON lines of stdout (non-JSON lines skipped). */
  lines: Array<Record<string, unknown>>;
}

export async function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  const r = await runCli(args, cwd, { env });
  const lines: Array<Record<string, unknown>> = [];
  for (const l of r.stdout.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {}
  }
  return { ...r, lines };
}

/** Every path under dir, relative, sorted. */
export async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string) {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      out.push(path.relative(dir, full));
      if (e.isDirectory()) await walk(full);
    }
  }
  await walk(dir);
  return out.sort();
}

export function summaryOf(r: CliResult): Record<string, unknown> {
  const s = r.lines.find((l) => 'summary' in l);
  if (!s) throw new Error(`no summary line; code ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return s.summary as Record<string, unknown>;
}

export function errorOf(r: CliResult): Record<string, unknown> | undefined {
  return r.lines.find((l) => 'error' in l)?.error as Record<string, unknown> | undefined;
}
