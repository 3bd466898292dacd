/**
 * Byzantine behaviour a worker can be switched into (POST /admin/fault, driven by `tclouds chaos byzantine`), so real
 * processes prove the voting tolerates up to f of them:
 *
 *   wrong-output  every task output is altered (one line added): the worker reports the digests of the altered
 *                 outputs and serves the altered map partitions, consistently, as a liar would
 *   silent        takes tasks but never reports them and never serves a map output (hung, sockets still open)
 *   slow          reports every task, and serves every map output, SLOW_MODE_DELAY_MS late
 *
 * Switching back to `none` makes the worker correct again. Only with spec config `faultInjection` (local deployments
 * set it for every node of a kind with fault modes).
 */
export const WORKER_FAULTS = ['wrong-output', 'silent', 'slow'] as const;
export type WorkerFaultMode = 'none' | (typeof WORKER_FAULTS)[number];
const MODES: readonly WorkerFaultMode[] = ['none', ...WORKER_FAULTS];

/** The line a lying worker adds to each output: valid output syntax, so only the vote can catch it. */
const LIE = Buffer.from('["tclouds-byzantine-worker",1]\n');

export class WorkerFaults {
  mode: WorkerFaultMode = 'none';

  constructor(private readonly enabled: boolean) {}

  set(mode: unknown): WorkerFaultMode {
    if (!this.enabled) throw new Error('fault injection is disabled on this node (spec config faultInjection)');
    if (!MODES.includes(mode as WorkerFaultMode)) throw new Error(`mode must be one of ${MODES.join(', ')}`);
    this.mode = mode as WorkerFaultMode;
    return this.mode;
  }

  corrupt(output: Buffer): Buffer {
    return Buffer.concat([LIE, output]);
  }
}
