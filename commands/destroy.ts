import { Flags } from '@oclif/core';
import { recordEvent } from '../cli/log-events.js';
import { NdjsonCommand } from '../cli/ndjson-command.js';
import {
  confirmChange,
  deployedTarget,
  interruptible,
  loadPlan,
  parseTarget,
  progressSink,
  realizeContext,
} from '../cli/session.js';
import { topologyFileArg, topologyFileFlag, topologyFileOf } from '../cli/topology-file.js';
import { resolveBackend } from '../stacks/pulumi/backend.js';
import { loadRealizer, TARGETS, type Target } from '../stacks/realizer.js';
import { displayName } from '../topology/load.js';

export interface DestroySummary {
  command: 'destroy';
  target: Target;
  stack: string;
  removed: number;
  nothingToDo: boolean;
  keepData: boolean;
  elapsedMs: number;
}

export default class Destroy extends NdjsonCommand {
  static override jsonOutput = 'events' as const;
  static override summary = 'Remove a deployment: stop its nodes and delete what it created';
  static override description =
    'local: stops the supervisor and every node process of the stack (checked by pid afterwards), deletes the ' +
    'buckets and .tclouds/<stack>/. --keep-data keeps the buckets, the node data directories and the keys needed to ' +
    'read the data back, and removes everything else.\n' +
    'aws, azure, gcp, clouds: pulumi destroy of the stack, with the state backend and passphrase its deploy used ' +
    "(--backend / TCLOUDS_PULUMI_BACKEND, PULUMI_CONFIG_PASSPHRASE[_FILE], else the stack directory's pulumi-state " +
    'and pulumi-passphrase, which a local destroy leaves in place). Buckets hold data and are kept by default (left ' +
    'in the cloud with their data and credentials, out of the stack, their ids recorded so that the next deploy ' +
    'adopts them); --delete-data deletes them with every object in them.\n\n' +
    'Asks for confirmation on a terminal; --yes skips it, and without a terminal --yes is required. ' +
    'Destroying a stack that is not deployed does nothing and exits 0.\n' +
    'With --json prints {"event":...} lines, then {"summary":{command,target,stack,removed,nothingToDo,keepData,elapsedMs}}.';
  static override examples = [
    '<%= config.bin %> destroy --yes',
    '<%= config.bin %> destroy prod.yaml --keep-data',
    '<%= config.bin %> destroy --target gcp --yes --json',
    '<%= config.bin %> destroy --target aws --yes --backend s3://my-team-tclouds-state',
    '<%= config.bin %> destroy --target aws --delete-data --yes',
  ];
  static override args = {
    file: topologyFileArg,
  };
  static override flags = {
    file: topologyFileFlag,
    target: Flags.string({ description: 'which deployment to destroy', options: [...TARGETS], default: 'local' }),
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }),
    'keep-data': Flags.boolean({
      description: 'keep buckets, node data and keys (the default on aws, azure and gcp)',
      exclusive: ['delete-data'],
    }),
    'delete-data': Flags.boolean({
      description: 'aws, azure, gcp: delete the buckets and every object in them (kept otherwise)',
      exclusive: ['keep-data'],
    }),
    backend: Flags.string({
      description:
        'Pulumi state backend the deploy used (cloud targets): s3://, azblob://, gs:// or file://; default the stack directory (env TCLOUDS_PULUMI_BACKEND)',
    }),
  };

  async run(): Promise<{ summary: DestroySummary }> {
    const t0 = Date.now();
    const { args, flags } = await this.parse(Destroy);
    const file = topologyFileOf(args.file, flags.file);
    const lp = await loadPlan(file);
    const target = deployedTarget(lp.plan, parseTarget(flags.target));
    // Cloud buckets are kept unless --delete-data; local data unless --keep-data (it lives on this machine).
    const keepData = target === 'local' ? (flags['keep-data'] ?? false) : !flags['delete-data'];
    const dataWord = keepData ? ' (keeping data)' : target === 'local' ? '' : ' (deleting data)';
    if (target !== 'local') resolveBackend(lp.stackDir, flags.backend); // a bad --backend fails before anything
    const realizer = await loadRealizer(target);
    await realizer.check?.();
    await confirmChange(
      `Destroy stack ${lp.plan.stack} of ${displayName(lp.loaded.file)} on ${target}${dataWord}?`,
      flags.yes,
    );
    // Recorded before the stack goes: afterwards its log is gone too, unless --keep-data keeps its buckets.
    const logged = await recordEvent(
      lp.stackDir,
      target,
      'tclouds.destroy',
      `destroy of stack ${lp.plan.stack} on ${target}${dataWord}`,
    );
    for (const w of logged) this.note(w);
    const interrupt = interruptible();
    try {
      const sink = await progressSink({ json: this.jsonEnabled() }, `destroying ${lp.plan.stack} on ${target}`);
      let removed: number;
      try {
        const ctx = realizeContext(lp, interrupt.signal, (e) => sink.onEvent(e), flags.backend);
        ({ removed } = await realizer.destroy({ ...ctx, keepData }));
      } catch (e) {
        await sink.finish('destroy failed');
        throw e;
      }
      const summary: DestroySummary = {
        command: 'destroy',
        target,
        stack: lp.plan.stack,
        removed,
        nothingToDo: removed === 0,
        keepData,
        elapsedMs: Date.now() - t0,
      };
      await sink.finish(
        removed === 0
          ? `nothing to do: ${lp.plan.stack} is not deployed on ${target}`
          : `destroyed ${lp.plan.stack} on ${target}: ${removed} removed${keepData ? ', data kept' : ''}`,
      );
      return { summary };
    } finally {
      interrupt.dispose();
    }
  }
}
