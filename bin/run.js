#!/usr/bin/env node
// Entry point of the `tclouds` CLI. Commands are compiled to dist/commands by `npm run build`.
// cli/launch.ts runs oclif with a command manifest that it keeps in step with dist/commands (fast start).
import { launch } from '../dist/cli/launch.js';

await launch(import.meta.url);
