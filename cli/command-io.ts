/**
 * A command's output channel, the same under oclif (TcCommand.io()) and on the lean launcher path (cli/hot/):
 * human lines on stdout and notes on stderr, both silenced by --json, whose one document the caller prints.
 */
import { format } from 'node:util';
import { jsonText } from './json-numbers.js';

export interface CommandIO {
  /** true with --json: the returned value is printed as JSON and nothing else goes to stdout. */
  readonly json: boolean;
  /** A human line on stdout (oclif's Command.log: util.format, then console.log). */
  log(line: string): void;
  /** A line on stderr (progress, warnings). */
  note(line: string): void;
}

/** The lean path's CommandIO, written as oclif's Command.log and TcCommand.note write. */
export function plainIO(json: boolean): CommandIO {
  return {
    json,
    log(line) {
      if (!json) console.log(format(line));
    },
    note(line) {
      if (!json) process.stderr.write(`${line}\n`);
    },
  };
}

/** A command's result in --json mode, as TcCommand.logJson prints it (one compact line, display numbers). */
export function printJson(value: unknown): void {
  process.stdout.write(`${jsonText(value)}\n`);
}
