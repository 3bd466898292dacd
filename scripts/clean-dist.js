// Removes dist/ before a build so that a deleted source file never leaves a stale compiled command behind.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
