/**
 * What the `tclouds storage *` commands share: arguments and flags (oclif's definitions, the source of truth for
 * --help and parsing), and the terminal helpers of cli/storage-ui.ts. Opening a client is the storage library's
 * (components/storage/open-client.ts). Commands stay thin: parse, call the library, render.
 */

import { Args, Flags } from '@oclif/core';
import { TOPOLOGY_FILE_ENV } from './topology-file.js';

export { interruptSignal, parseDuration, progressBar } from './storage-ui.js';

/** The first argument of every storage command. */
export const componentArg = Args.string({ description: 'storage component', required: true });

/** Arguments of the commands that act on one data unit of a component. */
export const dataUnitArgs = {
  component: componentArg,
  name: Args.string({ description: 'data unit name', required: true }),
};

export const storageFlags = {
  file: Flags.string({
    char: 'f',
    aliases: ['topology'],
    charAliases: ['t'],
    env: TOPOLOGY_FILE_ENV,
    description: 'topology file',
    default: 'tclouds.yaml',
  }),
  key: Flags.string({
    description: 'writer signing key (default .tclouds/<stack>/keys/storage-<component>-writer.key)',
  }),
  pubkey: Flags.string({
    description: 'verification key for readers (default: next to the writer key, .pub)',
  }),
  'writer-id': Flags.string({
    description: 'writer id (hex) used in version numbers and locks; default per key, machine and user',
  }),
};

/** `put|get|ls|rm --via-gateway`: through a deployed gateway (mediator/appliance mode) instead of the clouds. */
export const viaGatewayFlag = {
  'via-gateway': Flags.boolean({
    description: 'go through a deployed gateway of the component (mediator or appliance mode), with its client key',
    default: false,
  }),
};
