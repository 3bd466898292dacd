/**
 * Stack names of the suites that deploy to the local target. The local target puts a stack's nodes on
 * 127.A.x.y with A derived from a hash of the stack name (stacks/local/addresses.ts), and every node of a role
 * listens on the same ports: two deployed stacks with the same A collide (TC304). So a suite never deploys a
 * stack named like one a user gets from the README or `tclouds init` (a user's quickstart may be running while
 * `npm test` runs, in the same checkout), and no two suites share an A (they run in parallel).
 * test/support/stacks.test.ts holds these properties.
 */

/** Prefix of every stack a test deploys: the README and `tclouds init` never suggest it. */
export const TEST_STACK_PREFIX = 'tctest-';

/** One stack name per suite that deploys; each gets its own 127.A block. */
export const TEST_STACKS = {
  deployStorage: 'tctest-deploy-storage',
  deploySmr: 'tctest-deploy-smr',
  reliability: 'tctest-reliability',
  byzantine: 'tctest-byzantine',
  storageChaos: 'tctest-storage-chaos',
  tmux: 'tctest-tmux',
  readme: 'tctest-readme',
  damagedState: 'tctest-damaged-state',
  workflow: 'tctest-workflow',
  workflowLying: 'tctest-workflow-lying',
  logConsole: 'tctest-log-console',
  log: 'tctest-log',
  logAudit: 'tctest-log-audit',
  mapreduce: 'tctest-mapreduce',
  rollingUpdate: 'tctest-rolling',
  /** Deployed as tctest-ci-<run id> (`--stack-suffix`): the suite picks run ids whose blocks are free. */
  ciExample: 'tctest-ci',
  mapreduceTracker: 'tctest-mapreduce-tracker',
  mapreduceReplicated: 'tctest-mapreduce-replicated',
  s3Gateway: 'tctest-s3-gateway',
  storageScrub: 'tctest-storage-scrub',
  cloudRollout: 'tctest-cloud-rollout',
  chaosNodeTokens: 'tctest-chaos-node-tokens',
} as const;

/**
 * Stack names users get from the README (`--name quickstart`), from `tclouds init` without a name (`demo`), from
 * its examples and templates (`prod`, `tclouds`): no test stack may share their 127.A block.
 */
export const USER_STACKS = ['quickstart', 'demo', 'prod', 'tclouds'] as const;

/**
 * The topology most deploying suites use: stack `stack` over four local clouds a-d (one fault domain each), with
 * the given `components:` entries (YAML lines, indented two spaces).
 */
export function fourLocalClouds(stack: string, components: string, mode = 'client-resident'): string {
  return `name: ${stack}
mode: ${mode}
clouds:
  a: { provider: local }
  b: { provider: local }
  c: { provider: local }
  d: { provider: local }
components:
${components}
`;
}
