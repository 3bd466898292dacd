import { ephemeralKeys } from '../../stacks/pulumi/keys.js';
import { displayInputs, runUnderMocks } from '../../stacks/pulumi/mock-preview.js';
import { createProgram, loadProvider } from '../../stacks/pulumi/program.js';
import { handPlan } from './plans.js';

const plan = handPlan({
  clouds: {
    a1: { provider: process.argv[2] as 'aws', region: 'westeurope' },
    a2: { provider: process.argv[2] as 'aws', region: 'eastus' },
  },
  components: {
    ledger: {
      nodes: [0, 1, 2, 3].map((d) => ({ cloud: d < 3 ? 'a1' : 'a2', domain: d })),
      buckets: [{ cloud: 'a1', name: 'demo-ledger-a1' }],
    },
  },
  cidrs: ['198.51.100.0/24'],
});
const t0 = performance.now();
const target = (process.argv[2] ?? 'aws') as 'aws';
const mod = await loadProvider(target);
const t1 = performance.now();
const run = await runUnderMocks(
  createProgram(
    plan,
    target,
    { keys: ephemeralKeys(plan), packageSpec: 'tclouds@0.1.0', externalHosts: {}, retainData: false },
    mod,
  ),
);
const t2 = performance.now();
for (const r of run.resources) console.log(r.type, r.name, JSON.stringify(displayInputs(r.inputs)).slice(0, 300));
console.log(run.secretOutputs, JSON.stringify(run.outputs).slice(0, 500));
console.log({ load: t1 - t0, run: t2 - t1 });
