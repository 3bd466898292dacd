/** Flags and the shared run() of the `tclouds smr` KV commands (kept out of commands/, which oclif scans). */

import { Flags } from '@oclif/core';
import { deploymentFileFlag } from './topology-file.js';

/** Flags shared by the `smr` commands. */
export const smrFlags = {
  file: deploymentFileFlag,
  'stack-dir': Flags.string({
    description: 'Use the deployment outputs in this directory (.tclouds/<stack>) instead of the topology file',
  }),
  timeout: Flags.integer({ default: 40, min: 1, description: 'Seconds to wait for a quorum of identical replies' }),
  sign: Flags.boolean({
    default: false,
    description:
      "Sign requests with the client's Ed25519 key instead of MAC vectors (slower; verifiable by anyone). " +
      'Components with clientAuth: signature need no flag: their clients always sign',
  }),
};

import { SmrCode } from '../components/smr/codes.js';
import { type InvokeResult, invokeKv, parseKvArgs } from '../components/smr/operations.js';
import { style } from '../dashboard/style.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import type { TcCommand } from './base-command.js';

/** Shared run() of invoke/get/put/cas: one KV operation, rendered as JSON or one human line. */
export async function runKv(
  cmd: TcCommand,
  flags: { file: string; 'stack-dir'?: string; timeout: number; ordered?: boolean; sign?: boolean },
  component: string,
  op: string,
  args: string[],
): Promise<InvokeResult> {
  const kv = parseKvArgs(op, args);
  const r = await invokeKv({ file: flags.file, stackDir: flags['stack-dir'] }, component, kv, {
    timeoutMs: flags.timeout * 1000,
    ordered: flags.ordered,
    // No --sign: the component's own clientAuth decides (client.ts clientFromOutputs).
    ...(flags.sign ? { sign: true } : {}),
  });
  const res = r.result;
  if ('error' in res) {
    // The replicas agreed that the service refused the operation: a failure, whatever the transport did.
    throw new TcError(SmrCode.rejected, `${component} ${op}: the service refused it: ${res.error}`, {
      exit: ExitCode.failure,
      hint: 'check the operation and its arguments (`tclouds smr invoke --help`)',
    });
  }
  const text = `${res.ok ? style.green('ok') : style.yellow('not applied')} value=${JSON.stringify(res.value)}`;
  cmd.log(
    `${component} ${op} ${args.join(' ')}: ${text} (${r.ordered ? 'ordered' : 'read-only'}, ${r.auth === 'signature' ? 'signed, ' : ''}${r.latencyMs} ms, ${r.replicasConnected} replicas)`,
  );
  // A compare-and-set that did not match changed nothing: exit 9 so a script can tell it from success.
  if (kv.op === 'cas' && !res.ok) cmd.finish(r, ExitCode.notApplied);
  return r;
}
