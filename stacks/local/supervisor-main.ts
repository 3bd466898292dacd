/**
 * Entry point of the detached per-stack supervisor (see supervisor.ts): `node supervisor-main.js <stackDir>`.
 * Started by the local realizer at deploy time; stopped by destroy (SIGTERM). Not a user command.
 */
import { Supervisor } from './supervisor.js';

const stackDir = process.argv[2];
if (!stackDir) {
  process.stderr.write('usage: supervisor-main.js <stackDir>\n');
  process.exit(2);
}
await new Supervisor(stackDir).run();
process.exit(0);
