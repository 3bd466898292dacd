/**
 * Base class of every tclouds command.
 *
 * Commands are thin: compute a value with a library, then render it. With `--json`
 * (global, from oclif's enableJsonFlag) the value returned by run() is printed as one JSON document;
 * human output is written with this.log, which oclif silences in JSON mode.
 *
 * Errors: a TcError is printed as `file:line:col error CODE message` + hint on stderr (or as
 * `{"error":{...}}` on stdout with --json) and the process exits with the error's documented exit code.
 * Anything else is an internal error: one line, no stack trace unless TCLOUDS_DEBUG=1.
 */
import { Command, Errors, Flags } from '@oclif/core';
import { ExitCode, type ExitCodeValue, isTcError, TcError } from '../kernel/errors.js';
import { STACK_SUFFIX_ENV } from '../topology/stack-name.js';
import type { CommandIO } from './command-io.js';
import { jsonText } from './json-numbers.js';
import { internalError, writeError } from './report-error.js';

/** Command-line usage error reported by oclif's parser (unknown flag, bad flag value, missing argument). */
const USAGE_CODE = 'TC033';

export abstract class TcCommand extends Command {
  static override enableJsonFlag = true;

  /**
   * How --json prints: `document`, one compact JSON document on one line (the default); `events`, newline-delimited
   * JSON, several lines as things happen (deploy, destroy, log tail, status --watch). Declared by the commands that
   * stream, so the command manifest says which do (test/cli/json-style.test.ts).
   */
  static jsonOutput: 'document' | 'events' = 'document';

  /**
   * Global: a suffix for the stack name, so parallel pipeline jobs deploying one topology get separate stacks. It
   * reaches every topology the command loads through the environment (topology/stack-name.ts).
   */
  static override baseFlags = {
    'stack-suffix': Flags.string({
      env: STACK_SUFFIX_ENV,
      helpGroup: 'GLOBAL',
      description: 'append -SUFFIX to the stack name, e.g. a CI run id (parallel jobs get separate stacks)',
    }),
  };

  override async init(): Promise<void> {
    await super.init();
    const suffix = stackSuffixOf(this.argv);
    if (suffix) process.env[STACK_SUFFIX_ENV] = suffix;
  }

  /**
   * Print `value` (as JSON in --json mode, else via `human`) and exit with `exit`.
   * Use when a command must report a result *and* a non-zero exit code (e.g. `validate` on an invalid file).
   */
  finish(value: unknown, exit: ExitCodeValue, human?: () => void): never {
    if (this.jsonEnabled()) this.logJson(value);
    else human?.();
    this.exit(exit);
  }

  /**
   * The one --json style of every command: compact JSON, one document per line, numbers as people read them
   * (json-numbers.ts). A command that streams (static jsonOutput = 'events') prints more such lines before it.
   */
  protected override logJson(json: unknown): void {
    process.stdout.write(`${jsonText(json)}\n`);
  }

  /** This command's output channel, for the command logic shared with the lean launcher path (cli/hot/). */
  protected io(): CommandIO {
    return { json: this.jsonEnabled(), log: (line) => this.log(line), note: (line) => this.note(line) };
  }

  /** Print a line on stderr unless --json is on (progress, warnings). */
  protected note(line: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${line}\n`);
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    if (isTcError(err)) return this.reportAndExit(err);
    // oclif's own parse/usage errors (nonexistent flag, bad flag value, missing arg) keep oclif's message
    // and exit code (2), but are reported like every other problem: `error TC033 ...` + hint, and with
    // --json the documented {"error":{...}} shape (oclif itself would serialize the whole error object,
    // whose parse context holds the full config and package.json, ~260 KB, and exit 1).
    if (err.oclif?.exit !== undefined || err instanceof Errors.CLIError) {
      const lines = err.message
        .split('\n')
        .map((l) => l.trim().replace(/\s+/g, ' '))
        .filter((l) => l.length > 0 && !l.startsWith('See more help') && l !== 'The following error occurred:');
      return this.reportAndExit(
        new TcError(USAGE_CODE, joinUsageLines(lines), {
          exit: (err.oclif?.exit ?? ExitCode.usage) as ExitCodeValue,
          hint: `see \`tclouds ${(this.id ?? '').replaceAll(':', ' ')} --help\``,
        }),
      );
    }
    return this.reportAndExit(internalError(err));
  }

  private reportAndExit(err: TcError): never {
    writeError(err, this.jsonEnabled());
    this.exit(err.exit);
  }
}

/**
 * The value of `--stack-suffix` on a command line, read before the command parses it: the command may load a
 * topology before or while it parses (oclif validates the flag itself; the env default comes from its `env`).
 */
function stackSuffixOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const a = argv[i] as string;
    if (a === '--stack-suffix') return argv[i + 1];
    if (a.startsWith('--stack-suffix=')) return a.slice('--stack-suffix='.length);
  }
  return undefined;
}

/** oclif's multi-line parse message as one line: `Parsing --keep: Expected an integer ...`. */
function joinUsageLines(lines: readonly string[]): string {
  const [first = 'usage error', ...rest] = lines;
  if (rest.length === 0) return first;
  const missing = /^Missing (\d+) required args?:$/.exec(first);
  // oclif lists missing args as "name  Description" rows; "key Key" reads twice once flattened. Name each
  // argument as the usage line does (KEY), with its description only when it says more than the name.
  if (missing)
    return `missing ${missing[1]} required argument${missing[1] === '1' ? '' : 's'}: ${rest.map(argText).join(', ')}`;
  return `${first}${first.endsWith(':') ? '' : ':'} ${rest.join(' ')}`;
}

function argText(row: string): string {
  const [name = row, ...words] = row.split(' ');
  const description = words.join(' ');
  const same = description.toLowerCase().replace(/\W/g, '') === name.toLowerCase().replace(/\W/g, '');
  return description.length === 0 || same ? name.toUpperCase() : `${name.toUpperCase()} (${description})`;
}
