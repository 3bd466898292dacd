/**
 * The benchmarks' single-node baselines (bench/unreplicated.ts, bench/workflow-single.ts) run as processes of their
 * own, like the replicas they are compared with: the module spawns itself with `--spec FILE` and serves that node
 * until it is told to stop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type RoleResolver, startNode } from '../runtime/node-host.js';

/** Runs `moduleFile` (which calls serveIfMain) as a process serving the node of `specFile`; stderr piped. */
export function spawnBenchNode(moduleFile: string, specFile: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', moduleFile, '--spec', specFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
}

/**
 * When `moduleUrl` is the process's entry point: serve the node of `--spec FILE` with `roles` until SIGTERM or
 * SIGINT (exit 0), or exit 1 when the node reports a fatal error.
 */
export function serveIfMain(moduleUrl: string, roles: RoleResolver, what: string): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  serve(process.argv.slice(2), roles).catch((e: unknown) => {
    process.stderr.write(`${what} failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}

async function serve(argv: string[], roles: RoleResolver): Promise<void> {
  const at = argv.indexOf('--spec');
  const specFile = at >= 0 ? argv[at + 1] : undefined;
  if (!specFile) throw new Error('usage: node --import tsx <bench module> --spec FILE');
  const node = await startNode(path.resolve(specFile), { roles });
  const stopAsked = new Promise<'stop'>((resolve) => {
    process.once('SIGTERM', () => resolve('stop'));
    process.once('SIGINT', () => resolve('stop'));
  });
  if ((await Promise.race([stopAsked, node.failure])) !== 'stop') {
    await node.abandon();
    process.exit(1);
  }
  await node.stop();
  process.exit(0);
}
