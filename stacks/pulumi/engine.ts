/**
 * The engine port: the few Automation API calls tclouds makes (up, destroy, outputs, cancel), behind an interface
 * so that everything around them (events to progress, errors, locks, exit codes) can be tested with an engine that
 * replays recorded engine event streams (replay-engine.ts). The real implementation drives the `pulumi` CLI
 * through `LocalWorkspace` with an inline program, the stack's state backend and the passphrase secrets provider;
 * `workspaceOptions` builds those options as a pure function (tested without the CLI).
 *
 * The CLI is never downloaded: when it is missing, the user is told how to install it (exit 7).
 */
import { accessSync, constants, promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineEvent, OutputMap } from '@pulumi/pulumi/automation/index.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { PulumiCode } from './codes.js';

export interface StackRef {
  projectName: string;
  stackName: string;
  /** e.g. `file:///home/me/app/.tclouds/demo/pulumi-state` or `s3://team-bucket` (backend.ts). */
  backendUrl: string;
  /** Given to the engine as PULUMI_CONFIG_PASSPHRASE when it came from the environment (backend.ts). */
  passphrase?: string;
  /** Given as PULUMI_CONFIG_PASSPHRASE_FILE: the stack's generated file or the one the user named. */
  passphraseFile?: string;
}

/** The LocalWorkspace options of every call (without the CLI handle): pure, so tested without pulumi. */
export function workspaceOptions(ref: StackRef) {
  const secret: Record<string, string> =
    ref.passphraseFile !== undefined
      ? { PULUMI_CONFIG_PASSPHRASE_FILE: ref.passphraseFile }
      : { PULUMI_CONFIG_PASSPHRASE: ref.passphrase ?? '' };
  const envVars: Record<string, string> = {
    ...secret,
    PULUMI_BACKEND_URL: ref.backendUrl,
    PULUMI_SKIP_UPDATE_CHECK: '1',
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: '1',
  };
  return {
    secretsProvider: 'passphrase',
    projectSettings: { name: ref.projectName, runtime: 'nodejs' as const, backend: { url: ref.backendUrl } },
    envVars,
  };
}

export interface EngineOp {
  onEvent(e: EngineEvent): void;
  signal: AbortSignal;
}

export interface EngineSummary {
  resourceChanges: Record<string, number>;
}

export interface PulumiEngine {
  /** Throws TcError TC350 (exit 7) when the engine cannot run (no `pulumi` CLI). */
  check(): Promise<void>;
  up(
    ref: StackRef,
    program: () => Promise<Record<string, unknown>>,
    op: EngineOp,
  ): Promise<{ outputs: OutputMap; summary: EngineSummary }>;
  destroy(ref: StackRef, op: EngineOp): Promise<{ summary: EngineSummary }>;
  /** Current stack outputs, or null when the stack does not exist. */
  outputs(ref: StackRef): Promise<OutputMap | null>;
  /** Clears the lock an interrupted update left behind (`pulumi cancel`). */
  cancel(ref: StackRef): Promise<void>;
}

export const INSTALL_HINT =
  'install the Pulumi CLI (https://www.pulumi.com/docs/install/, e.g. `curl -fsSL https://get.pulumi.com | sh` or `brew install pulumi/tap/pulumi`) and make sure `pulumi` is on PATH; `tclouds plan --target <cloud>` works without it';

/** `pulumi` on PATH or in ~/.pulumi/bin (where the official installer puts it), or undefined. */
export function findPulumiCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [
    ...(env.PATH ?? '').split(delimiter).filter(Boolean),
    join(env.PULUMI_HOME ?? join(homedir(), '.pulumi'), 'bin'),
  ];
  for (const dir of dirs) {
    const file = join(dir, process.platform === 'win32' ? 'pulumi.exe' : 'pulumi');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function missingCliError(): TcError {
  return new TcError(PulumiCode.missingCli, 'the `pulumi` CLI is not installed; cloud targets need it to deploy', {
    exit: ExitCode.missingDependency,
    hint: INSTALL_HINT,
  });
}

/** The real engine: Automation API, inline program, the stack's backend, passphrase secrets provider. */
export function automationEngine(): PulumiEngine {
  let cli: string | undefined;
  const automation = async () => (await import('@pulumi/pulumi')).automation;

  /**
   * The Automation API module and the workspace options every call uses: the found CLI plus `workspaceOptions`.
   */
  async function workspace(ref: StackRef) {
    const auto = await automation();
    // The engine's child processes inherit this environment with envVars merged in, and the pulumi CLI prefers
    // PULUMI_CONFIG_PASSPHRASE even when it is set and empty: with a passphrase file chosen, an empty one must go,
    // or the state's secrets would be sealed with the empty passphrase while tclouds says the file is used.
    if (ref.passphraseFile !== undefined && process.env.PULUMI_CONFIG_PASSPHRASE === '')
      delete process.env.PULUMI_CONFIG_PASSPHRASE;
    const pulumiCommand = await auto.PulumiCommand.get({ root: cli ? join(cli, '..', '..') : undefined });
    return { auto, options: { pulumiCommand, ...workspaceOptions(ref) } };
  }

  async function stackOf(ref: StackRef, program: () => Promise<Record<string, unknown>>) {
    if (ref.backendUrl.startsWith('file://')) await fs.mkdir(fileURLToPath(ref.backendUrl), { recursive: true });
    const { auto, options } = await workspace(ref);
    return auto.LocalWorkspace.createOrSelectStack(
      { projectName: ref.projectName, stackName: ref.stackName, program },
      options,
    );
  }
  const noProgram = async () => ({});

  return {
    async check() {
      // Also for the commands the SDK runs itself (`pulumi version`): nothing may reach beyond this machine.
      process.env.PULUMI_SKIP_UPDATE_CHECK ??= '1';
      cli = findPulumiCli();
      if (!cli) throw missingCliError();
    },
    async up(ref, program, op) {
      const stack = await stackOf(ref, program);
      const r = await stack.up({ onEvent: op.onEvent, signal: op.signal, color: 'never' });
      return {
        outputs: r.outputs,
        summary: { resourceChanges: { ...(r.summary.resourceChanges ?? {}) } as Record<string, number> },
      };
    },
    async destroy(ref, op) {
      const stack = await stackOf(ref, noProgram);
      const r = await stack.destroy({ onEvent: op.onEvent, signal: op.signal, color: 'never' });
      return { summary: { resourceChanges: { ...(r.summary.resourceChanges ?? {}) } as Record<string, number> } };
    },
    async outputs(ref) {
      try {
        const { auto, options } = await workspace(ref);
        const stack = await auto.LocalWorkspace.selectStack(
          { projectName: ref.projectName, stackName: ref.stackName, program: noProgram },
          options,
        );
        return await stack.outputs();
      } catch (e) {
        if ((e as Error).name === 'StackNotFoundError') return null;
        throw e;
      }
    },
    async cancel(ref) {
      const stack = await stackOf(ref, noProgram);
      await stack.cancel();
    },
  };
}

/**
 * Any engine failure -> TcError with a documented exit code. `errors` are the error diagnostics the engine
 * emitted (clearer than the CLI's stderr dump, and free of secrets).
 */
export function mapEngineError(
  e: unknown,
  ctx: { signal: AbortSignal; stack: string; backendUrl: string; errors: string[]; cancelled: boolean },
): TcError {
  if (e instanceof TcError) return e;
  const err = e as Error & { commandResult?: { stderr?: string; code?: number } };
  if (ctx.signal.aborted || ctx.cancelled) {
    return new TcError(PulumiCode.interrupted, `cancelled: the update of stack ${ctx.stack} was stopped`, {
      exit: ExitCode.interrupted,
      hint: 'resources created so far are recorded in the state; run the same command again to finish, or `tclouds destroy` to remove them',
    });
  }
  if (err?.name === 'ConcurrentUpdateError') {
    return new TcError(PulumiCode.locked, `stack ${ctx.stack} is locked by another update`, {
      exit: ExitCode.locked,
      hint: `wait for the other update to finish; if none is running (e.g. a machine crashed mid-update), clear the lock with \`PULUMI_BACKEND_URL=${ctx.backendUrl} pulumi cancel --stack ${ctx.stack} --yes\``,
    });
  }
  if (err?.name === 'CommandError' && err.commandResult?.code === -2) return missingCliError();
  const detail =
    ctx.errors.length > 0
      ? ctx.errors.slice(-5).join('\n')
      : lastLines(err?.commandResult?.stderr ?? err?.message ?? String(e));
  return new TcError(PulumiCode.engineFailed, `Pulumi failed on stack ${ctx.stack}: ${detail}`, {
    exit: ExitCode.failure,
    hint: 'fix the cause above and run the command again; resources that were created are kept in the state',
  });
}

function lastLines(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('stdout:') && !l.startsWith('err?:') && !l.startsWith('code:'));
  return lines.slice(-3).join(' | ') || 'unknown error';
}
