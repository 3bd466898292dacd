/** Flags and helpers shared by the `tclouds mapreduce` commands (kept out of commands/, which oclif scans). */

import { Flags } from '@oclif/core';
import { type MapReduceClient, openClient } from '../components/mapreduce/client.js';
import { resolveStackDir } from '../components/smr/operations.js';
import { deploymentFileFlag } from './topology-file.js';

export const mapreduceFlags = {
  file: deploymentFileFlag,
  'stack-dir': Flags.string({
    description: 'Use the deployment outputs in this directory (.tclouds/<stack>) instead of the topology file',
  }),
};

/** For commands that name a job: the component, needed only when the deployment has more than one. */
export const componentFlag = {
  component: Flags.string({ char: 'c', description: 'MapReduce component (default: the only one of the deployment)' }),
};

/** Runs `fn` with a client of the component's job tracker, closed afterwards whatever happens. */
export async function withClient<T>(
  flags: { file: string; 'stack-dir'?: string },
  component: string | undefined,
  fn: (c: MapReduceClient) => Promise<T>,
): Promise<T> {
  const dir = await resolveStackDir(flags.file, flags['stack-dir']);
  const client = await openClient(dir, component);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
