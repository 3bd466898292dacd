import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePlan } from '../../components/plan.js';
import { loadTopology } from '../../topology/load.js';

const p = process.argv[2] ?? 'aws';
const text = `name: dense
mode: native
clouds:
  c1: { provider: ${p}, region: r1, hosts: ${process.argv[3] ?? 4} }
clients: { cidrs: [198.51.100.0/24] }
components:
  ledger:
    kind: smr
    f: ${process.argv[4] ?? 1}
    clouds: [c1]
    colocate: allowed
`;
const dir = mkdtempSync(join(tmpdir(), 'tc-'));
writeFileSync(join(dir, 'tclouds.yaml'), text);
try {
  const plan = compilePlan(await loadTopology(join(dir, 'tclouds.yaml')));
  console.log(
    JSON.stringify(plan.clouds),
    JSON.stringify(plan.components.ledger!.layouts),
    plan.components.ledger!.nodes.map((n) => n.domain).join(','),
    plan.notes,
  );
} catch (e) {
  console.log(e);
}
