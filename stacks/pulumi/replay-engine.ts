/**
 * An engine that replays RECORDED Pulumi engine event streams instead of running the `pulumi` CLI.
 *
 * A recording (JSON) holds, per operation, the engine events in the exact `EngineEvent` shape of
 * `@pulumi/pulumi/automation/events.d.ts`, then either the result (outputs + summary) or the CLI failure (stderr +
 * exit code). Failures are rebuilt with the SDK's own `createCommandError`, so a recorded "stack is currently
 * locked" stderr becomes the very `ConcurrentUpdateError` the real engine would throw.
 *
 * Used by the tests of everything around the engine (events to progress, errors, locks, exit codes), and by
 * `TCLOUDS_PULUMI_REPLAY=<file>` to drive the commands end to end without a cloud account.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { EngineEvent, OutputMap } from '@pulumi/pulumi/automation/index.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { PulumiCode } from './codes.js';
import type { EngineOp, EngineSummary, PulumiEngine, StackRef } from './engine.js';

export interface RecordedOperation {
  events: EngineEvent[];
  outputs?: OutputMap;
  summary?: EngineSummary;
  /** The CLI failed: its stderr and exit code, as the Automation API saw them. */
  error?: { stderr: string; code: number };
  /** Simulate Ctrl-C: after this many events, wait until the caller aborts, then play the rest and fail. */
  interruptAfter?: number;
}

export interface Recording {
  description?: string;
  up?: RecordedOperation;
  destroy?: RecordedOperation;
  /** `null`: the stack does not exist. */
  outputs?: OutputMap | null;
  /** The CLI is missing on the recorded machine. */
  missingCli?: boolean;
}

export interface ReplayEngine extends PulumiEngine {
  /** Operations called, in order (e.g. `cancel` before `up` after a stale lock). */
  readonly calls: string[];
}

// The SDK's internal error factory (automation/errors.js) and result type (automation/cmd.js); not in its typings.
const require = createRequire(import.meta.url);
function sdkError(stderr: string, code: number): Error {
  const { createCommandError } = require('@pulumi/pulumi/automation/errors.js') as {
    createCommandError(r: unknown): Error;
  };
  const { CommandResult } = require('@pulumi/pulumi/automation/cmd.js') as {
    CommandResult: new (stdout: string, stderr: string, code: number, err?: Error) => unknown;
  };
  return createCommandError(new CommandResult('', stderr, code));
}

export function loadRecording(file: string): Recording {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Recording;
  } catch (e) {
    throw new TcError(
      PulumiCode.badRecording,
      `cannot read the recorded engine stream ${file}: ${(e as Error).message}`,
      {
        exit: ExitCode.notFound,
        location: { file },
      },
    );
  }
}

export function replayEngine(recording: Recording): ReplayEngine {
  const calls: string[] = [];

  async function play(name: 'up' | 'destroy', op: EngineOp): Promise<RecordedOperation> {
    const rec = recording[name];
    if (!rec) throw new Error(`the recording has no "${name}" operation`);
    for (let i = 0; i < rec.events.length; i++) {
      if (rec.interruptAfter === i) await aborted(op.signal);
      op.onEvent(rec.events[i]!);
      // Let consumers observe events one by one, as with the real event stream.
      await new Promise((r) => setImmediate(r));
    }
    if (rec.error) throw sdkError(rec.error.stderr, rec.error.code);
    return rec;
  }

  return {
    calls,
    async check() {
      calls.push('check');
      if (recording.missingCli) {
        const { missingCliError } = await import('./engine.js');
        throw missingCliError();
      }
    },
    async up(_ref: StackRef, _program, op) {
      calls.push('up');
      const rec = await play('up', op);
      return { outputs: rec.outputs ?? {}, summary: rec.summary ?? { resourceChanges: {} } };
    },
    async destroy(_ref, op) {
      calls.push('destroy');
      const rec = await play('destroy', op);
      return { summary: rec.summary ?? { resourceChanges: {} } };
    },
    async outputs() {
      calls.push('outputs');
      return recording.outputs === undefined ? null : recording.outputs;
    },
    async cancel() {
      calls.push('cancel');
    },
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
