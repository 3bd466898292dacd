/**
 * A deployment's outputs as environment variables, for `$GITHUB_ENV`, a `.env` file or a test harness:
 *   TCLOUDS_STACK, TCLOUDS_TARGET, TCLOUDS_TOPOLOGY_FILE, TCLOUDS_PLAN_DIGEST
 *   TCLOUDS_<COMPONENT>_KIND                       e.g. TCLOUDS_LEDGER_KIND=smr
 *   TCLOUDS_<COMPONENT>_<ROLE>_<PORT>              every node of that role, host:port, comma-separated in index order
 *   TCLOUDS_<COMPONENT>_<ROLE>_CONTROL             their control ports (GET /health, /metrics)
 *   TCLOUDS_<COMPONENT>_CLIENT_KEY_FILE            the first client key's file (a path, never the key)
 * Names are upper case with anything but letters and digits turned into `_`. Pure.
 */
import type { DeploymentOutputs } from '../runtime/node-spec.js';

export const OUTPUT_FORMATS = ['text', 'json', 'env', 'dotenv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const envName = (...parts: string[]) =>
  ['TCLOUDS', ...parts]
    .join('_')
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '_');

export function outputsEnv(o: DeploymentOutputs): [string, string][] {
  const vars: [string, string][] = [
    ['TCLOUDS_STACK', o.stack],
    ['TCLOUDS_TARGET', o.target],
    ['TCLOUDS_TOPOLOGY_FILE', o.topologyFile],
    ['TCLOUDS_PLAN_DIGEST', o.planDigest],
  ];
  for (const [name, c] of Object.entries(o.components)) {
    vars.push([envName(name, 'kind'), c.kind]);
    const byRole = new Map<string, typeof c.nodes>();
    for (const n of [...c.nodes].sort((a, b) => a.index - b.index)) {
      byRole.set(n.role, [...(byRole.get(n.role) ?? []), n]);
    }
    for (const [role, nodes] of byRole) {
      const ports = [...new Set(nodes.flatMap((n) => Object.keys(n.ports)))].sort();
      for (const port of ports) {
        const list = nodes.flatMap((n) => (n.ports[port] === undefined ? [] : [`${n.host}:${n.ports[port]}`]));
        vars.push([envName(name, role, port), list.join(',')]);
      }
      vars.push([envName(name, role, 'control'), nodes.map((n) => `${n.host}:${n.controlPort}`).join(',')]);
    }
    const key = Object.values(c.clientKeys ?? {})[0];
    if (key) vars.push([envName(name, 'client', 'key', 'file'), key.keyFile]);
  }
  return vars;
}

/** `env`: KEY=value lines as `$GITHUB_ENV` takes them; `dotenv`: KEY="value" with quotes and backslashes escaped. */
export function renderEnv(vars: readonly [string, string][], format: 'env' | 'dotenv'): string {
  return vars
    .map(([k, v]) =>
      format === 'env'
        ? `${k}=${v.replace(/[\r\n]/g, ' ')}`
        : `${k}="${v.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`,
    )
    .join('\n');
}
