/**
 * Entry of the lean path's bundle (dist/hot/storage.js): runs `storage put/get/ls/rm` with arguments parsed by
 * cli/hot/argv.ts, through the same command logic (cli/storage-actions.ts), output channel and error report as
 * the oclif commands, and nothing of oclif. See cli/hot/dispatch.ts for when the launcher takes this path.
 */
import { isTcError } from '../../kernel/errors.js';
import { DEFAULT_TOPOLOGY_FILE } from '../../topology/files.js';
import { STACK_SUFFIX_ENV } from '../../topology/stack-name.js';
import { loadTopologyCached } from '../../topology/validated-cache.js';
import { plainIO, printJson } from '../command-io.js';
import { internalError, writeError } from '../report-error.js';
import { type ActionOptions, storageGet, storageLs, storagePut, storageRm } from '../storage-actions.js';

type Flags = Record<string, string | boolean>;
type Args = Record<string, string>;
type IO = ReturnType<typeof plainIO>;

/** Parsed arguments and flags are those of the command's oclif definition (checked by cli/hot/argv.ts). */
const ACTIONS: Record<string, (args: Args, flags: Flags, io: IO, o: ActionOptions) => Promise<unknown>> = {
  'storage:put': (a, f, io, o) => storagePut(a as { component: string; file: string }, f as { file: string }, io, o),
  'storage:get': (a, f, io, o) => storageGet(a as { component: string; name: string }, f as { file: string }, io, o),
  'storage:ls': (a, f, io, o) => storageLs(a as { component: string }, f as { file: string; long: boolean }, io, o),
  'storage:rm': (a, f, io, o) => storageRm(a as { component: string; name: string }, f as { file: string }, io, o),
};

/**
 * Run one hot command to the end, as oclif would: the result as JSON with --json, a TcError reported and the
 * process exited with its code, anything else reported as internal error TC000. `codeId` identifies the
 * compiled code (the bundle's inputs with their sizes and mtimes): validated topologies are remembered per build.
 */
export async function runHotCommand(id: string, args: Args, flags: Flags, codeId: string): Promise<void> {
  const action = ACTIONS[id];
  if (!action) throw new Error(`not a hot command: ${id}`);
  // As oclif does: a closed stdout (`| head`) is not an error, and process warnings are also printed with their
  // stack (oclif's Config adds that listener).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  if (process.listenerCount('warning') <= 1) {
    process.on('warning', (warning: Error & { detail?: string }) => {
      console.error(warning.stack);
      if (warning.detail) console.error(warning.detail);
    });
  }
  // --stack-suffix reaches the topology loader through the environment, as TcCommand.init does for oclif.
  if (typeof flags['stack-suffix'] === 'string') process.env[STACK_SUFFIX_ENV] = flags['stack-suffix'];
  const io = plainIO(flags.json === true);
  try {
    const loadTopology = (file = DEFAULT_TOPOLOGY_FILE) => loadTopologyCached(file, { codeId });
    const result = await action(args, flags, io, { loadTopology });
    if (io.json && result) printJson(result);
  } catch (e) {
    const err = isTcError(e) ? e : internalError(e as Error);
    writeError(err, io.json);
    process.exit(err.exit);
  }
}
