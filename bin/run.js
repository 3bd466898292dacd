#!/usr/bin/env node
// Entry point of the `tclouds` CLI. Commands are compiled to dist/commands by `npm run build`.
// cli/launch.ts runs oclif with a command manifest that it keeps in step with dist/commands (fast start), or
// runs `storage put/get/ls/rm` without oclif when it can (cli/hot/dispatch.ts).
import module from 'node:module';

// Node 22.1+: V8's compile cache for the modules loaded from here on (kept in the OS temp dir, or in
// NODE_COMPILE_CACHE), so later starts skip parsing and compiling them. Node 20 has no such API.
module.enableCompileCache?.();
const { launch } = await import('../dist/cli/launch.js');
await launch(import.meta.url);
