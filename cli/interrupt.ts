/**
 * Ctrl-C and SIGTERM for every long command, one way: the first aborts the returned signal (the work stops at its
 * next step, cleans up and releases its locks, and the command exits 130), a second exits at once. Commands that
 * run until interrupted (`status --watch`) use the same signal as their stop condition.
 */
import { ExitCode } from '../kernel/errors.js';

export interface Interrupt {
  signal: AbortSignal;
  /** Remove the signal handlers (call when the work is over). */
  dispose(): void;
}

export function onInterrupt(opts: { reason?: () => unknown; note?: string } = {}): Interrupt {
  const controller = new AbortController();
  let count = 0;
  const onSignal = () => {
    count++;
    if (count === 1) {
      if (opts.note) process.stderr.write(`\n${opts.note}\n`);
      controller.abort(opts.reason?.());
    } else {
      process.exit(ExitCode.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}
