#!/usr/bin/env node
// Entry point of the `tclouds` CLI. Commands are compiled to dist/commands by `npm run build`.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
