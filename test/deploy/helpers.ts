/**
 * Test helpers for the deploy suite: run the built CLI (`node bin/run.js ...`) as a user would, in a temp
 * directory, and parse its newline-delimited JSON output.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir as cleanTempDir } from '../support/tmp.js';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = path.join(repo, 'bin', 'run.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Parsed JSON lines of stdout (non-JSON lines skipped). */
  lines: Array<Record<string, unknown>>;
}

export function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', PULUMI_SKIP_UPDATE_CHECK: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const lines: Array<Record<string, unknown>> = [];
      for (const l of stdout.split('\n')) {
        if (!l.startsWith('{')) continue;
        try {
          lines.push(JSON.parse(l) as Record<string, unknown>);
        } catch {}
      }
      resolve({ code, stdout, stderr, lines });
    });
  });
}

/**
 * A fresh `tclouds-<prefix>-XXXXXX` temp dir, removed after the test file's last hook (see test/support/tmp.ts),
 * together with any process still running from it.
 */
export async function tempDir(prefix: string): Promise<string> {
  return cleanTempDir(`tclouds-${prefix}-`);
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
