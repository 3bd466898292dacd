/**
 * Where the local target keeps things, all under
 * `stackDir = <topology dir>/.tclouds/<stack>/`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const stackPaths = (stackDir: string) => ({
  state: path.join(stackDir, 'state.json'),
  outputs: path.join(stackDir, 'outputs.json'),
  lock: path.join(stackDir, 'deploy.lock'),
  supervisorStatus: path.join(stackDir, 'supervisor.json'),
  supervisorLog: path.join(stackDir, 'supervisor.log'),
  keys: path.join(stackDir, 'keys'),
  adminToken: path.join(stackDir, 'keys', 'admin.token'),
  nodes: path.join(stackDir, 'nodes'),
  clouds: path.join(stackDir, 'clouds'),
  nodeDir: (id: string) => path.join(stackDir, 'nodes', id),
  spec: (id: string) => path.join(stackDir, 'nodes', id, 'spec.json'),
  dataDir: (id: string) => path.join(stackDir, 'nodes', id, 'data'),
  nodeLog: (id: string) => path.join(stackDir, 'nodes', id, 'node.log'),
  /** stdout/stderr of the node process (the host writes its structured log to node.log). */
  consoleLog: (id: string) => path.join(stackDir, 'nodes', id, 'console.log'),
  /** Chaos marker: the node is held down (killed on purpose); the supervisor must not restart it. */
  hold: (id: string) => path.join(stackDir, 'nodes', id, 'hold'),
  /** Chaos marker: the node is paused (SIGSTOP). */
  paused: (id: string) => path.join(stackDir, 'nodes', id, 'paused'),
  key: (keyId: string) => path.join(stackDir, 'keys', `${keyId}.key`),
});

/** Root of the tclouds package (the directory holding package.json and bin/run.js), from this module's location. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'bin', 'run.js'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the tclouds package root');
}

/** Compiled supervisor entry point (always the built JS, also when tests import this module from source). */
export function supervisorMain(): string {
  return path.join(packageRoot(), 'dist', 'stacks', 'local', 'supervisor-main.js');
}

/** argv that runs `tclouds node run --spec FILE`, without the spec part. */
export function nodeHostCommand(): string[] {
  return [process.execPath, path.join(packageRoot(), 'bin', 'run.js'), 'node', 'run'];
}
