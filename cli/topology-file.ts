/**
 * One way to name the topology file in every command: `-f/--file FILE`, or `TCLOUDS_FILE` in the environment (a
 * pipeline sets it once), default `./tclouds.yaml`. The commands that took it as their first argument (plan, deploy,
 * destroy, outputs, validate) still do, so existing scripts keep working; both at once must agree.
 */
import { Args, Flags } from '@oclif/core';
import { ExitCode, TcError } from '../kernel/errors.js';
import { DEFAULT_TOPOLOGY_FILE } from '../topology/load.js';

export const TOPOLOGY_FILE_ENV = 'TCLOUDS_FILE';

const DESCRIPTION = `topology file (default ./${DEFAULT_TOPOLOGY_FILE})`;

/**
 * `-f/--file` of the commands that also take the file as their argument: no default, so "not given" can be told
 * apart from "given twice"; topologyFileOf fills in TCLOUDS_FILE and the default.
 */
export const topologyFileFlag = Flags.string({
  char: 'f',
  description: `${DESCRIPTION}; env ${TOPOLOGY_FILE_ENV}`,
});

/** `-f/--file` of the commands that use a deployment (smr, log, workflow, mapreduce): TCLOUDS_FILE, then the default. */
export const deploymentFileFlag = Flags.string({
  char: 'f',
  env: TOPOLOGY_FILE_ENV,
  default: DEFAULT_TOPOLOGY_FILE,
  description: 'Topology file whose deployment to use',
});

/** The positional FILE of plan, deploy, destroy, outputs and validate. */
export const topologyFileArg = Args.string({ description: 'topology file (the same as -f FILE)' });

/** The file a command reads: the argument or -f (not two different ones), else TCLOUDS_FILE, else the default. */
export function topologyFileOf(arg: string | undefined, flag: string | undefined): string {
  if (arg !== undefined && flag !== undefined && arg !== flag) {
    throw new TcError('TC033', `two topology files given: ${arg} and -f ${flag}`, {
      exit: ExitCode.usage,
      hint: 'name the topology once, with -f FILE',
    });
  }
  return arg ?? flag ?? (process.env[TOPOLOGY_FILE_ENV] || DEFAULT_TOPOLOGY_FILE);
}
