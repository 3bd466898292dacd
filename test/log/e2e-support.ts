/**
 * What the log's end-to-end suites share: the built CLI with optional stdin, a deployed stack's files, and an
 * attacker's tools (a DepSky client with one core replica's stolen writer key, its stolen evolving secret).
 */
import { spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DepSkyClient } from '../../components/storage/client.js';
import { LocalDirectoryDriver } from '../../components/storage/drivers/local.js';
import { defaultWriterId, readSigningKey } from '../../components/storage/keys.js';
import { bin } from '../support/cli.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  json: () => Record<string, unknown>;
}

export function tc(args: string[], cwd: string, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', PULUMI_SKIP_UPDATE_CHECK: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
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
    child.stdin.end(stdin ?? '');
    child.on('close', (code) =>
      resolve({
        code,
        stdout,
        stderr,
        json: () => {
          try {
            return JSON.parse(stdout) as Record<string, unknown>;
          } catch {
            throw new Error(`not JSON (exit ${code}):\n${stdout}\n${stderr}`);
          }
        },
      }),
    );
  });
}

export function bucketDir(stackDir: string, stack: string, component: string, cloud: string): string {
  return path.join(stackDir, 'clouds', cloud, `${stack}-${component}-${cloud}`);
}

/** The file holding a data unit's value in one cloud (DepSky-A: `<du>/value<version>.<writer>`, the newest). */
export async function valueFile(bucket: string, du: string): Promise<string> {
  const names = (await fs.readdir(path.join(bucket, du))).filter((n) => n.startsWith('value')).sort();
  return path.join(bucket, du, names[names.length - 1] as string);
}

/** A DepSky client writing as core replica `replica`, with its stolen key. */
export async function stolenWriter(
  stackDir: string,
  stack: string,
  component: string,
  replica: number,
  clouds: string[],
) {
  const signKey = await readSigningKey(path.join(stackDir, 'keys', `storage-${component}-core-${replica}-writer.key`));
  const verifyKey = createPublicKey(signKey);
  return new DepSkyClient({
    drivers: clouds.map((c) => new LocalDirectoryDriver(c, bucketDir(stackDir, stack, component, c))),
    f: 1,
    protocol: 'depsky-a',
    verifyKey,
    signKey,
    writer: defaultWriterId(verifyKey),
    lingerMs: 0,
  });
}

/** The evolving secret a core replica holds now (what an attacker who takes it over finds). */
export async function stolenSecret(
  stackDir: string,
  component: string,
  replica: number,
): Promise<{ index: number; secret: Buffer }> {
  const f = JSON.parse(
    await fs.readFile(path.join(stackDir, 'nodes', `${component}-core-${replica}`, 'data', 'log-secret.json'), 'utf8'),
  );
  return { index: f.index, secret: Buffer.from(f.secret, 'hex') };
}

export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
