/**
 * Error codes of the MapReduce component: job modules, inputs, the job tracker, workers and clients (TC490-TC499,
 * full; continued in TC700-TC719).
 * Stable: scripts match on them. Listed in the README's MapReduce section.
 */
export const MapReduceCode = {
  /** A role's node configuration is invalid, or a message from a peer or client does not parse. */
  config: 'TC490',
  /** The job module cannot be read or loaded, or lacks `map` (or `mapChunk`) or `reduce`. */
  jobModule: 'TC491',
  /** An input cannot be read, is empty, or a chunk is over its bound. */
  input: 'TC492',
  /** The job failed: the job module threw, ran out of time or memory, or replicas never agreed. */
  jobFailed: 'TC493',
  /** The job tracker is not reachable, or did not answer in time. */
  unavailable: 'TC494',
  /** No such job at the tracker. */
  noJob: 'TC495',
  /** No deployment, no such component, or it is not a mapreduce component; or no client key. */
  noDeployment: 'TC496',
  /** The client-side vote found no f+1 identical replica outputs for a partition. */
  noAgreement: 'TC497',
  /** Bad command arguments (output exists, bad chunk size, unknown job state). */
  usage: 'TC498',
  /** The job is not finished yet (result asked for a running job), or was cancelled. */
  notFinished: 'TC499',
  /** A replicated job tracker's replicas gave no f+1 identical answers (more than f faulty or unreachable). */
  trackerDisagree: 'TC700',
} as const;
