/**
 * Minimal interactive prompts (node:readline). Only used when stdin and stdout are a terminal: a prompt
 * in a pipe or in CI would hang, so callers check canPrompt() and fall back to defaults otherwise.
 *
 * Lines are queued as they arrive, so answers typed ahead (or pasted at once) are not lost between questions.
 */
import type { Interface } from 'node:readline';
import { ExitCode, isTcError, TcError } from '../kernel/errors.js';

/**
 * Whether this runs in a pipeline. CI services set `CI` (GitHub Actions, GitLab, CircleCI: `true`); a job may still
 * get a pseudo-terminal, so a terminal alone does not mean someone is there to answer. `CI=false` or `CI=0` is
 * someone saying it is not.
 */
export function inCi(): boolean {
  const ci = process.env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !inCi();
}

export class Prompter {
  private readonly lines: string[] = [];
  private waiting: ((line: string | undefined) => void) | undefined;
  private closed = false;

  private constructor(private readonly rl: Interface) {
    rl.on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      } else this.lines.push(line);
    });
    rl.on('close', () => {
      this.closed = true;
      this.waiting?.(undefined);
    });
  }

  static async open(): Promise<Prompter> {
    const { createInterface } = await import('node:readline');
    return new Prompter(createInterface({ input: process.stdin, output: process.stdout, terminal: true }));
  }

  private nextLine(): Promise<string | undefined> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** Ask for a line; empty answer = default. `check` throws a TcError to reject an answer and ask again. */
  async ask(question: string, def: string, check?: (answer: string) => void): Promise<string> {
    for (;;) {
      process.stdout.write(`${question} [${def}]: `);
      const line = await this.nextLine();
      if (line === undefined) {
        // Ctrl-D / end of input: stop asking rather than loop forever.
        throw new TcError('TC032', 'input ended while waiting for an answer', {
          hint: 'answer the prompts, or pass the values as flags (see --help)',
        });
      }
      const answer = line.trim() || def;
      try {
        check?.(answer);
        return answer;
      } catch (e) {
        if (!isTcError(e)) throw e;
        process.stdout.write(`  ${e.message}${e.hint ? ` (${e.hint})` : ''}\n`);
      }
    }
  }

  /** Ask to pick one of `options` by number or name. */
  async choose<T extends string>(question: string, options: readonly T[], def: T): Promise<T> {
    process.stdout.write(`${question}:\n${options.map((o, i) => `  ${i + 1}) ${o}`).join('\n')}\n`);
    const answer = await this.ask(`Choose 1-${options.length} or a name`, def, (a) => {
      if (!pick(options, a)) throw new TcError('TC031', `"${a}" is not one of the choices`);
    });
    return pick(options, answer) ?? def;
  }

  close(): void {
    this.rl.close();
  }
}

function pick<T extends string>(options: readonly T[], answer: string): T | undefined {
  const n = Number(answer);
  if (Number.isInteger(n) && n >= 1 && n <= options.length) return options[n - 1];
  return options.find((o) => o === answer.toLowerCase());
}

/** The codes a command family reports for a refused, declined or interrupted confirmation. */
export interface ConfirmCodes {
  needsConfirmation: string;
  declined: string;
  interrupted: string;
}

/**
 * Ask before changing anything. `yes` (--yes) skips it; without a terminal (a script) or with `CI` set (a pipeline,
 * even one that allocates a terminal) and without --yes the command refuses, because silently deploying, destroying or injecting faults from a script is the mistake to
 * prevent. Ctrl-C at the prompt cancels like anywhere else.
 */
export async function confirm(question: string, yes: boolean, codes: ConfirmCodes): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY || inCi()) {
    const where = inCi() ? 'CI is set, so nobody is asked' : 'there is no terminal to ask on';
    throw new TcError(codes.needsConfirmation, `refusing without confirmation: ${question}`, {
      exit: ExitCode.usage,
      hint: `${where}; pass --yes to confirm from a script or CI`,
    });
  }
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    // readline turns Ctrl-C at the prompt into a 'SIGINT' event on the interface.
    const interrupted = new Promise<never>((_, reject) =>
      rl.once('SIGINT', () =>
        reject(new TcError(codes.interrupted, 'cancelled: nothing was changed', { exit: ExitCode.interrupted })),
      ),
    );
    const answer = (await Promise.race([rl.question(`${question} [y/N] `), interrupted])).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') {
      throw new TcError(codes.declined, 'cancelled: nothing was changed', { exit: ExitCode.failure });
    }
  } finally {
    rl.close();
  }
}
