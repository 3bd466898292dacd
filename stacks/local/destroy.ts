/**
 * `destroy --target local`: stop the supervisor and every node, then delete what the deployment created, or with
 * `--keep-data` everything but the data (buckets, node data directories and the keys that read them back).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../kernel/atomic-file.js';
import { PASSPHRASE_FILE_NAME, STATE_DIR_NAME } from '../pulumi/backend.js';
import type { RealizeContext } from '../realizer.js';
import { stopAll } from './control.js';
import { emit } from './design.js';
import { acquireLock } from './lock.js';
import { stackPaths } from './paths.js';
import { readState } from './state.js';

/** Entries of the stack directory that belong to the cloud targets (stacks/pulumi/backend.ts). */
const CLOUD_STATE: ReadonlySet<string> = new Set([STATE_DIR_NAME, PASSPHRASE_FILE_NAME]);

/** Left by `destroy --keep-data`: what the kept data's deployment had created outside the stack dir. */
export const KEPT_FILE = 'kept-data.json';

export async function readKept(stackDir: string): Promise<string[]> {
  try {
    const k = JSON.parse(await fs.readFile(path.join(stackDir, KEPT_FILE), 'utf8')) as { externalDirs?: unknown };
    return Array.isArray(k.externalDirs) ? k.externalDirs.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export async function destroyLocal(ctx: RealizeContext & { keepData: boolean }): Promise<{ removed: number }> {
  if (!existsSync(ctx.stackDir)) return { removed: 0 };
  const lock = await acquireLock(ctx.stackDir, 'tclouds destroy');
  let removed = 0;
  try {
    const state = await readState(ctx.stackDir).catch(() => null);
    const externalDirs = [...new Set([...(state?.externalDirs ?? []), ...(await readKept(ctx.stackDir))])];
    const t0 = Date.now();
    const pids = await stopAll(ctx.stackDir);
    for (const id of Object.keys(state?.nodes ?? {})) {
      removed++;
      emit(ctx, {
        kind: 'node',
        id,
        type: 'local:process',
        state: 'deleted',
        op: 'delete',
        elapsedMs: Date.now() - t0,
      });
    }
    if (pids.length > 0) {
      emit(ctx, { kind: 'log', id: 'processes', state: 'done', message: `stopped ${pids.length} process(es)` });
    }
    const p = stackPaths(ctx.stackDir);
    if (ctx.keepData) {
      // Keep what holds data: buckets, node data directories, and the keys needed to read the data back.
      for (const entry of await fs.readdir(ctx.stackDir)) {
        const full = path.join(ctx.stackDir, entry);
        if (full === p.clouds || full === p.keys || full === p.lock || CLOUD_STATE.has(entry)) continue;
        if (full === p.nodes) {
          for (const id of await fs.readdir(full).catch(() => [] as string[])) {
            for (const f of await fs.readdir(path.join(full, id)).catch(() => [] as string[])) {
              if (f !== 'data') await fs.rm(path.join(full, id, f), { recursive: true, force: true });
            }
          }
          continue;
        }
        await fs.rm(full, { recursive: true, force: true });
      }
      // Remember directories outside the stack dir that we created, so the final destroy can still remove them.
      if (externalDirs.length > 0) await writeJsonAtomic(path.join(ctx.stackDir, KEPT_FILE), { externalDirs });
      for (const b of state?.buckets ?? []) {
        emit(ctx, {
          kind: 'resource',
          id: `${b.component}/${b.cloud}`,
          type: 'local:bucket',
          state: 'unchanged',
          message: 'kept (--keep-data)',
        });
      }
    } else {
      for (const b of state?.buckets ?? []) {
        await fs.rm(b.path, { recursive: true, force: true });
        removed++;
        emit(ctx, {
          kind: 'resource',
          id: `${b.component}/${b.cloud}`,
          type: 'local:bucket',
          state: 'deleted',
          op: 'delete',
        });
      }
      // Cloud directories outside the stack dir that this deployment created: removed when empty.
      const created = [...externalDirs].sort((a, b) => b.length - a.length);
      for (const dir of created) await fs.rmdir(dir).catch(() => {});
      // The cloud targets' Pulumi state and passphrase share the stack directory: not ours to delete.
      const leftovers = (await fs.readdir(ctx.stackDir)).filter(
        (entry) => entry !== 'deploy.lock' && !CLOUD_STATE.has(entry),
      );
      for (const entry of leftovers) await fs.rm(path.join(ctx.stackDir, entry), { recursive: true, force: true });
      // Without state.json (after `destroy --keep-data`, or a deploy that failed before writing it) the kept
      // buckets, keys and node data were deleted just now: say so instead of reporting "nothing to do".
      if (!state && leftovers.length > 0) {
        removed++;
        emit(ctx, {
          kind: 'resource',
          id: path.basename(ctx.stackDir),
          type: 'local:directory',
          state: 'deleted',
          op: 'delete',
          message: `left without state.json: ${leftovers.join(', ')}`,
        });
      }
    }
  } finally {
    await lock.release();
  }
  // Remove the stack dir and `.tclouds/` when nothing is left in them.
  await fs.rmdir(ctx.stackDir).catch(() => {});
  await fs.rmdir(path.dirname(ctx.stackDir)).catch(() => {});
  return { removed };
}
