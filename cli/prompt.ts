/**
 * Minimal interactive prompts (node:readline/promises). Only ever used when stdin and stdout are a
 * terminal: a prompt in a pipe or in CI would hang, so callers check canPrompt() and use defaults otherwise.
 */
import { isTcError, TcError } from '../runtime/errors.js';

export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY) && process.env.CI === undefined;
}

/** Ask for a line of text; empty answer = default. `check` throws (TcError) to reject an answer and ask again. */
export async function ask(question: string, def: string, check?: (answer: string) => void): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    for (;;) {
      const answer = (await rl.question(`${question} [${def}]: `)).trim() || def;
      try {
        check?.(answer);
        return answer;
      } catch (e) {
        if (!isTcError(e)) throw e;
        process.stdout.write(`  ${e.message}${e.hint ? ` (${e.hint})` : ''}\n`);
      }
    }
  } finally {
    rl.close();
  }
}

/** Ask to pick one of `options` by number or name. */
export async function choose<T extends string>(question: string, options: readonly T[], def: T): Promise<T> {
  const list = options.map((o, i) => `  ${i + 1}) ${o}`).join('\n');
  process.stdout.write(`${question}:\n${list}\n`);
  const answer = await ask(`Choose 1-${options.length} or a name`, def, (a) => {
    if (!pick(options, a)) throw new TcError('TC031', `"${a}" is not one of the choices`);
  });
  return pick(options, answer) ?? def;
}

function pick<T extends string>(options: readonly T[], answer: string): T | undefined {
  const n = Number(answer);
  if (Number.isInteger(n) && n >= 1 && n <= options.length) return options[n - 1];
  return options.find((o) => o === answer.toLowerCase());
}
