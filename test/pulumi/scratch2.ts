import { templatePlan } from './plans.js';
import { runPlan } from './graph.js';
const p = (process.argv[2] ?? 'aws') as 'aws';
for (let i = 0; i < 3; i++) {
const t0 = performance.now();
const plan = await templatePlan('mediator', p);
const t1 = performance.now();
const run = await runPlan(plan, p);
const t2 = performance.now();
console.log({ compile: t1 - t0, run: t2 - t1, n: run.resources.length });
}
