/**
 * What `plan --target aws|azure|gcp` says about the software of nodes already deployed: a new build (another
 * artifact SHA-256), another `--node-package` or another pinned Node runtime is an update in place of each node's
 * `software` secret, rolled by `deploy` like a spec change (restarts in waves, at most f of a component at a
 * time), never a VM replacement. Pure: the last deployed software (`<target>.software.json`) and the new one in,
 * field changes out.
 */
import type { FieldChange, PreviewResource } from '../realizer.js';
import type { NodeRuntimeRef } from './boot-refs.js';
import type { SoftwareInput } from './program-env.js';

/** `<target>.software.json`: what the last deploy shipped (the runtime since software records name it). */
export type DeployedSoftware = SoftwareInput & { nodeRuntime?: NodeRuntimeRef };

/** Why `plan` lists a node whose software changes. */
export const SOFTWARE_RESTART = 'software changed: rolled in place, at most f per component at a time';

function describeSoftware(s: SoftwareInput): { field: string; value: string } {
  return 'artifact' in s
    ? { field: 'software.sha256', value: s.artifact.sha256 }
    : { field: 'software.package', value: s.packageSpec };
}

/** The software fields that differ between the last deploy and this one (empty: same software, or never deployed). */
export function softwareChanges(before: DeployedSoftware | undefined, after: DeployedSoftware): FieldChange[] {
  if (!before) return [];
  const changes: FieldChange[] = [];
  const b = describeSoftware(before);
  const a = describeSoftware(after);
  if (b.field === a.field && b.value !== a.value) changes.push({ field: a.field, before: b.value, after: a.value });
  if (b.field !== a.field) {
    changes.push({ field: b.field, before: b.value });
    changes.push({ field: a.field, after: a.value });
  }
  const rb = before.nodeRuntime;
  const ra = after.nodeRuntime;
  if (rb && ra && (rb.version !== ra.version || rb.sha256 !== ra.sha256)) {
    changes.push({ field: 'software.nodeRuntime', before: rb.version, after: ra.version });
  }
  return changes;
}

/**
 * Marks the VMs of deployed nodes as updated in place with the software changes, restarted by the rollout. `vm`
 * tells which resources are VMs; `deployed` which node ids the last deploy had (new nodes are created).
 */
export function markSoftwareUpdates(
  resources: PreviewResource[],
  changes: FieldChange[],
  vm: (type: string) => boolean,
  deployed: ReadonlySet<string>,
): void {
  if (changes.length === 0) return;
  for (const r of resources) {
    if (!vm(r.type) || !deployed.has(r.name)) continue;
    r.op = 'update';
    r.changes = changes;
    r.restart = SOFTWARE_RESTART;
  }
}
