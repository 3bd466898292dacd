import { Flags } from '@oclif/core';

/** Flags shared by the `smr` commands. */
export const smrFlags = {
  file: Flags.string({ char: 'f', default: 'tclouds.yaml', description: 'Topology file whose deployment to use' }),
  'stack-dir': Flags.string({
    description: 'Use the deployment outputs in this directory (.tclouds/<stack>) instead of the topology file',
  }),
  timeout: Flags.integer({ default: 40, min: 1, description: 'Seconds to wait for a quorum of identical replies' }),
};
