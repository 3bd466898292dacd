/**
 * The terminal side of the storage commands, without oclif: the TTY progress bar, Ctrl-C cancellation and duration
 * flags. Kept apart from cli/storage-command.ts (oclif flag definitions) so that the lean launcher path
 * (cli/hot/) can run `storage put/get/ls/rm` without loading oclif.
 */
import { StorageCode } from '../components/storage/codes.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import { type Interrupt, onInterrupt } from './interrupt.js';

/** A one-line progress bar on stderr, only on a TTY and never in --json mode. */
export function progressBar(
  enabled: boolean,
  label: string,
  unit = 'cloud calls',
): { update: (done: number, total: number) => void; end: () => void } {
  const tty = enabled && process.stderr.isTTY === true;
  let shown = false;
  return {
    update(done, total) {
      if (!tty || total <= 0) return;
      const width = 24;
      const filled = Math.round((done / total) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} ${unit}`);
      shown = true;
    },
    end() {
      if (shown) process.stderr.write('\r\x1b[2K');
    },
  };
}

/** An AbortSignal fired by Ctrl-C / SIGTERM (cli/interrupt.ts), whose reason is the storage area's TC211. */
export function interruptSignal(): Interrupt {
  return onInterrupt({ reason: () => new TcError(StorageCode.aborted, 'interrupted', { exit: ExitCode.interrupted }) });
}

/** Parse durations like 90s, 5m, 1500ms, 2h (lock leases). */
export function parseDuration(text: string, flag: string, code: string = StorageCode.badConfig): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) {
    throw new TcError(code, `--${flag} must be a duration like 30s, 5m or 1500ms, got "${text}"`, {
      exit: ExitCode.usage,
    });
  }
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * mult);
}
