/**
 * Base of plan/deploy/destroy/outputs: with --json these commands print newline-delimited JSON (events, then one
 * summary or error line), so every JSON value they print must fit on one line.
 */

import { isTcError } from '../kernel/errors.js';
import { TcCommand } from './base-command.js';
import { jsonLine } from './session.js';

export abstract class NdjsonCommand extends TcCommand {
  protected override logJson(json: unknown): void {
    jsonLine(json);
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (this.jsonEnabled() && isTcError(err)) {
      jsonLine({ error: err.toJSON() });
      this.exit(err.exit);
    }
    return super.catch(err);
  }
}
