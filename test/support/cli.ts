/**
 * Running the built CLI (`node bin/run.js ...`, compiled with `npx tsc -p tsconfig.build.json`) in a temp
 * directory, as a user would: what the deploy and reliability suites share.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir as cleanTempDir } from './tmp.js';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = path.join(repo, 'bin', 'run.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `tclouds <args>` in `cwd` without colour or Pulumi update checks, collecting its output.
 * With `timeoutMs` the process is killed (SIGKILL) once that time is up.
 */
export function runCli(
  args: string[],
  cwd: string,
  opts: { timeoutMs?: number | undefined; env?: Record<string, string> | undefined } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', PULUMI_SKIP_UPDATE_CHECK: '1', ...opts.env },
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
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
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
