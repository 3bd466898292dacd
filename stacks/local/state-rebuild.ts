/**
 * state.json rebuilt from what is on disk, for a deploy that finds it damaged (truncated by a full disk, edited by
 * hand). Every node directory keeps the spec.json the node runs with: it says what the node is and where, and its
 * hash lets the deploy leave running the nodes whose spec is unchanged, as after any other deploy. Buckets and
 * the directories a deployment created are recorded again by the deploy itself from the plan.
 */
import { promises as fs } from 'node:fs';
import type { NodeSpec } from '../../runtime/node-spec.js';
import { stackPaths } from './paths.js';
import { specHash } from './specs.js';
import { LOCAL_STATE_VERSION, type LocalNodeState, type LocalState } from './state.js';

export interface RebuiltState {
  state: LocalState;
  /** Node directories whose spec.json could not be used: the deploy treats those nodes as new. */
  skipped: string[];
}

export async function rebuildState(stackDir: string, stack: string, topologyFile: string): Promise<RebuiltState> {
  const p = stackPaths(stackDir);
  const ids = await fs.readdir(p.nodes).catch(() => [] as string[]);
  const nodes: Record<string, LocalNodeState> = {};
  const skipped: string[] = [];
  for (const id of ids.sort()) {
    const n = await nodeFromSpec(p.spec(id));
    if (n && n.id === id) nodes[id] = n.state;
    else skipped.push(id);
  }
  // An empty plan digest: the plan the damaged file recorded is unknown, so the deploy records its own.
  const state: LocalState = {
    version: LOCAL_STATE_VERSION,
    stack,
    topologyFile,
    planDigest: '',
    nodes,
    buckets: [],
    externalDirs: [],
  };
  return { state, skipped };
}

async function nodeFromSpec(file: string): Promise<{ id: string; state: LocalNodeState } | null> {
  let spec: NodeSpec;
  try {
    spec = JSON.parse(await fs.readFile(file, 'utf8')) as NodeSpec;
  } catch {
    return null;
  }
  const fields = [spec?.id, spec?.component, spec?.kind, spec?.role, spec?.cloud, spec?.host];
  if (
    !fields.every((f) => typeof f === 'string') ||
    typeof spec.index !== 'number' ||
    typeof spec.controlPort !== 'number'
  ) {
    return null;
  }
  return {
    id: spec.id,
    state: {
      component: spec.component,
      kind: spec.kind,
      role: spec.role,
      index: spec.index,
      cloud: spec.cloud,
      domain: typeof spec.domain === 'number' ? spec.domain : 0,
      host: spec.host,
      ports: spec.ports ?? {},
      controlPort: spec.controlPort,
      specFile: file,
      // The same hash deploy computes over the spec it builds: JSON.stringify of the parsed file is the same text
      // as of the object it was written from (the file is that object's JSON), so an unchanged node stays up.
      specHash: specHash(spec),
    },
  };
}
