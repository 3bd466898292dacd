import { promises as fs } from 'node:fs';
import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import {
  deploymentOf,
  logComponentArg,
  logFlags,
  openCore,
  readVerified,
  readVerifiedFrom,
} from '../../cli/log-command.js';
import { LogCode } from '../../components/log/codes.js';
import type { LogDeployment } from '../../components/log/deployment.js';
import { CheckpointSchema, type VerifyCheckpoint } from '../../components/log/protocol/checkpoint.js';
import { type TreeHead, TreeHeadSchema } from '../../components/log/protocol/segment.js';
import type { VerifyProblem } from '../../components/log/protocol/verify.js';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import { ExitCode, TcError } from '../../kernel/errors.js';

export interface VerifyOutput {
  component: string;
  ok: boolean;
  size: number;
  segments: number;
  head: TreeHead | null;
  problems: VerifyProblem[];
  incomplete: string[];
  /** With --checkpoint: the log size the checkpoint vouched for (verification started there), else null. */
  resumedFrom: number | null;
}

export default class LogVerify extends TcCommand {
  static override summary = 'Verify a whole log from storage alone: chain, authenticators, Merkle tree';
  static override description =
    "Reads every core replica's copy of every segment from the clouds and checks, segment by segment: f+1 " +
    'replicas signed the same tree head and authenticated it with their forward-integrity secret for that ' +
    'segment; sequence numbers continue; the Merkle root of all entries so far is the signed one; each head chains ' +
    'to the previous. A copy that differs or does not authenticate is reported with the first entry concerned. ' +
    '--since checks that a tree head you saved earlier (--save-head) is still a prefix: truncation or rollback ' +
    'is caught even if the attacker removed whole segments; --core asks the running core for its last sealed head ' +
    'instead of a saved one. --checkpoint FILE makes repeated verification incremental: the first run verifies the ' +
    "whole log and saves where it got to (a tree head with f+1 replicas' signatures and the tree's right edge, " +
    'which must give the signed root: the file needs no protection); later runs read and check only the segments ' +
    'sealed since, and move it on.\n\n' +
    `Exit 0 when everything verifies; otherwise ${LogCode.verifyFailed} (exit 1) naming the first bad entry. ` +
    'With --json prints {"component","ok","size","segments","head","problems":[{"segment","replica","entry","severity","message"}],"incomplete"}.';
  static override examples = [
    '<%= config.bin %> log verify audit',
    '<%= config.bin %> log verify audit --save-head head.json',
    '<%= config.bin %> log verify audit --since head.json --json',
    '<%= config.bin %> log verify audit --core',
    '<%= config.bin %> log verify audit --checkpoint audit.checkpoint.json',
  ];
  static override args = { component: logComponentArg };
  static override flags = {
    ...logFlags,
    since: Flags.string({ description: 'a tree head saved earlier (JSON file): the log must still extend it' }),
    'save-head': Flags.string({ description: 'write the verified tree head to this file (for a later --since)' }),
    core: Flags.boolean({
      default: false,
      description:
        'also ask the running core (f+1 matching replies) for its last sealed tree head: storage must hold it (catches a tail removed from every cloud without a saved head)',
    }),
    timeout: Flags.integer({ default: 40, min: 1, description: 'with --core: seconds to wait for the core' }),
    checkpoint: Flags.string({
      description:
        'verify only what was sealed since the checkpoint in this file (the whole log when it does not exist yet), then move it on',
      exclusive: ['since', 'core'],
    }),
  };

  async run(): Promise<VerifyOutput> {
    const { args, flags } = await this.parse(LogVerify);
    const since = flags.since ? await readHead(flags.since) : undefined;
    const d = await deploymentOf(flags, args.component);
    const fromCore = flags.core ? await coreHead(d, flags.timeout) : undefined;
    const cp = flags.checkpoint ? await readCheckpoint(flags.checkpoint) : undefined;
    let r: Awaited<ReturnType<typeof readVerifiedFrom>>;
    if (cp) r = await readVerifiedFrom(d, cp);
    else {
      const full = await readVerified(d, since, { decode: false });
      if (fromCore) checkAgainstCore(full, fromCore);
      r = full;
    }
    if (flags.checkpoint && r.ok && r.checkpoint)
      await writeFileAtomic(flags.checkpoint, `${JSON.stringify(r.checkpoint, null, 2)}\n`);
    const out: VerifyOutput = {
      component: args.component,
      ok: r.ok,
      size: r.size,
      segments: r.segments,
      head: r.head,
      problems: r.problems,
      incomplete: r.incomplete,
      resumedFrom: cp ? cp.head.size : null,
    };
    if (flags['save-head'] && r.ok && r.head)
      await writeFileAtomic(flags['save-head'], `${JSON.stringify(r.head, null, 2)}\n`);
    if (!r.ok) {
      const first = r.problems.find((p) => p.severity === 'error') as VerifyProblem;
      const where = first.entry === undefined ? '' : ` at entry ${first.entry}`;
      const err = new TcError(
        LogCode.verifyFailed,
        `${args.component}: verification failed${where}: ${first.message}`,
        {
          exit: ExitCode.failure,
          hint: `${r.problems.filter((p) => p.severity === 'error').length} problem(s); --json lists them all`,
        },
      );
      if (this.jsonEnabled()) this.finish({ ...out, error: err.toJSON() }, ExitCode.failure);
      for (const p of r.problems) this.note(`${p.severity}: ${p.message}`);
      throw err;
    }
    for (const p of r.problems) this.note(`${p.severity}: ${p.message}`);
    this.log(
      `${args.component}: ok, ${r.size} entries in ${r.segments} segments verified${r.head ? `; root ${r.head.root}` : ''}`,
    );
    return out;
  }
}

/** Storage must hold the core's last sealed head: a tail removed from every cloud shows up here. */
function checkAgainstCore(r: Awaited<ReturnType<typeof readVerified>>, core: { size: number; root: string }): void {
  const problem =
    core.size > r.size
      ? `the core has sealed ${core.size} entries but storage verifies only ${r.size}: entries ${r.size}..${core.size - 1} are missing from storage (removed, or not stored yet)`
      : r.tree.root(core.size).toString('hex') !== core.root
        ? `the first ${core.size} entries in storage do not have the root the core signed`
        : undefined;
  if (!problem) return;
  r.problems.push({ entry: Math.min(core.size, r.size), severity: 'error', message: problem });
  r.ok = false;
}

/** The last tree head the core sealed, as f+1 replicas report it (undefined before the first seal). */
async function coreHead(d: LogDeployment, timeoutSeconds: number): Promise<{ size: number; root: string } | undefined> {
  const core = await openCore(d, timeoutSeconds);
  try {
    const h = (await core.head()).head;
    return h ? { size: h.size, root: h.root } : undefined;
  } finally {
    await core.close();
  }
}

/** A checkpoint saved by an earlier `--checkpoint` run; undefined when the file does not exist yet. */
async function readCheckpoint(file: string): Promise<VerifyCheckpoint | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TcError(LogCode.badCheckpoint, `cannot read checkpoint ${file}: ${(e as Error).message}`, {
      exit: ExitCode.notFound,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const r = CheckpointSchema.safeParse(raw);
  if (!r.success) {
    throw new TcError(LogCode.badCheckpoint, `${file} is not a log verify checkpoint`, {
      exit: ExitCode.invalid,
      hint: 'remove it: the next `log verify --checkpoint` verifies the whole log and writes a new one',
    });
  }
  return r.data;
}

async function readHead(file: string): Promise<{ size: number; root: string }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new TcError(LogCode.badHead, `cannot read a tree head from ${file}: ${(e as Error).message}`, {
      exit: ExitCode.notFound,
    });
  }
  const r = TreeHeadSchema.safeParse(raw);
  if (!r.success) {
    throw new TcError(
      LogCode.badHead,
      `${file} is not a tree head (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`,
      {
        exit: ExitCode.invalid,
        hint: 'save one with `tclouds log verify COMPONENT --save-head FILE`',
      },
    );
  }
  return r.data;
}
