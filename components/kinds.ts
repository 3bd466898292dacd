/**
 * The kinds registry: every component kind tclouds knows, each with its plan function, typed node configs, node
 * roles, status hooks and chaos hooks (components/kind.ts). Adding a kind is one folder, `components/<kind>/`,
 * with a `kind.ts`, and one line here (plus its schema in topology/schema.ts, which the topology file is
 * checked against).
 */

import type { RoleFactory } from '../runtime/role.js';
import type { ComponentKind } from '../topology/schema.js';
import type { KindModule } from './kind.js';
import { logKind } from './log/kind.js';
import { mapreduceKind } from './mapreduce/kind.js';
import { smrKind } from './smr/kind.js';
import { storageKind } from './storage/kind.js';
import { workflowKind } from './workflow/kind.js';

export const KINDS: { readonly [K in ComponentKind]: KindModule<K> } = {
  storage: storageKind,
  smr: smrKind,
  log: logKind,
  mapreduce: mapreduceKind,
  workflow: workflowKind,
};

/** The registry entry of a kind named in a spec or an outputs file (not checked by the compiler). */
export function kindOf(kind: string): KindModule | undefined {
  return Object.hasOwn(KINDS, kind) ? (KINDS[kind as ComponentKind] as KindModule) : undefined;
}

/** The node roles of a kind, or undefined when this release has no node software for it (runtime/node-host.ts). */
export async function rolesOf(kind: string): Promise<Readonly<Record<string, RoleFactory>> | undefined> {
  return kindOf(kind)?.roles?.();
}
