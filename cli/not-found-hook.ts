/**
 * oclif's `command_not_found` hook: a mistyped command gets the project's error shape (code, message, hint; the
 * `{"error":...}` document with --json) and the nearest commands, instead of oclif's bare "command not found".
 * Exit 2, like any usage error.
 */
import { Errors, type Hook } from '@oclif/core';
import { formatProblem, TcError } from '../kernel/errors.js';
import { closestCommands } from './did-you-mean.js';
import { jsonText } from './json-numbers.js';

const hook: Hook<'command_not_found'> = async function notFound(opts) {
  const typed = [opts.id.replaceAll(':', ' '), ...(opts.argv ?? []).filter((a) => !a.startsWith('-'))].join(' ');
  const visible = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' '));
  const suggestions = closestCommands(typed, visible);
  const shown = opts.id.replaceAll(':', ' ');
  const err = new TcError('TC033', `unknown command "${shown}"`, {
    exit: 2,
    hint:
      suggestions.length > 0
        ? `did you mean ${suggestions.map((s) => `\`${opts.config.bin} ${s}\``).join(' or ')}?`
        : `\`${opts.config.bin} --help\` lists the commands`,
  });
  if (opts.argv?.includes('--json')) process.stdout.write(`${jsonText({ error: err.toJSON() })}\n`);
  else
    process.stderr.write(
      `${formatProblem({ code: err.code, severity: 'error', message: err.message, hint: err.hint })}\n`,
    );
  Errors.exit(2);
};

export default hook;
