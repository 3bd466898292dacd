/**
 * Entry of the lean path's bundle (dist/hot/storage.js): runs `storage put/get/ls/rm` with arguments parsed by
 * cli/hot/argv.ts, through the same command logic (cli/storage-actions.ts), output channel and error report as
 * the oclif commands, and nothing of oclif. See cli/hot/dispatch.ts for when the launcher takes this path.
 */
import { isTcError } from '../../kernel/errors.js';
import { plainIO, printJson } from '../command-io.js';
import { internalError, writeError } from '../report-error.js';
import { storageGet, storageLs, storagePut, storageRm } from '../storage-actions.js';

type Flags = Record<string, string | boolean>;
type Args = Record<string, string>;

/** Parsed arguments and flags are those of the command's oclif definition (checked by cli/hot/argv.ts). */
const ACTIONS: Record<string, (args: Args, flags: Flags, io: ReturnType<typeof plainIO>) => Promise<unknown>> = {
  'storage:put': (a, f, io) => storagePut(a as { component: string; file: string }, f as { topology: string }, io),
  'storage:get': (a, f, io) => storageGet(a as { component: string; name: string }, f as { topology: string }, io),
  'storage:ls': (a, f, io) => storageLs(a as { component: string }, f as { topology: string; long: boolean }, io),
  'storage:rm': (a, f, io) => storageRm(a as { component: string; name: string }, f as { topology: string }, io),
};

/**
 * Run one hot command to the end, as oclif would: the result as JSON with --json, a TcError reported and the
 * process exited with its code, anything else reported as internal error TC000.
 */
export async function runHotCommand(id: string, args: Args, flags: Flags): Promise<void> {
  const action = ACTIONS[id];
  if (!action) throw new Error(`not a hot command: ${id}`);
  // As oclif does: a closed stdout (`| head`) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  const io = plainIO(flags.json === true);
  try {
    const result = await action(args, flags, io);
    if (io.json && result) printJson(result);
  } catch (e) {
    const err = isTcError(e) ? e : internalError(e as Error);
    writeError(err, io.json);
    process.exit(err.exit);
  }
}
