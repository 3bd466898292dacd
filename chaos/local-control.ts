/**
 * Process control of the local target, as chaos uses it. The functions live in stacks/local/control.ts
 * (plan/deploy area: it owns the supervisor, which must never restart a node that chaos holds down);
 * this adapter loads them lazily (only chaos commands pay for it) and turns a failed load into a clear error.
 */
import { ExitCode, TcError } from '../kernel/errors.js';
import { ChaosCode } from './codes.js';

export interface LocalControl {
  /** SIGKILL and keep it down (hold) until restartNode or a deploy. */
  killNode(stackDir: string, id: string, opts: { hold: boolean }): Promise<unknown>;
  /** SIGSTOP. */
  pauseNode(stackDir: string, id: string): Promise<unknown>;
  /** SIGCONT. */
  resumeNode(stackDir: string, id: string): Promise<unknown>;
  /** Start again, clearing the hold. */
  restartNode(stackDir: string, id: string): Promise<unknown>;
  /** The stack's state.json and what runs; throws TC501 when state.json is damaged. */
  readLocalState(stackDir: string): Promise<unknown>;
}

let cached: Promise<LocalControl | null> | undefined;

/**
 * The control functions, after checking that the stack's records are readable: a damaged state.json is reported
 * once, as TC501 with how to rebuild it, rather than as a failure of each node's action.
 */
export async function loadLocalControl(stackDir: string): Promise<LocalControl> {
  cached ??= import('../stacks/local/control.js').then(
    (m): LocalControl => m,
    () => null,
  );
  const control = await cached;
  if (!control) {
    throw new TcError(ChaosCode.noControl, 'local process control (stacks/local/control.js) is not in this build', {
      exit: ExitCode.missingDependency,
      hint: 'kill, pause, resume and restart need the local realizer of `tclouds deploy`',
    });
  }
  await control.readLocalState(stackDir);
  return control;
}
