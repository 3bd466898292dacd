/**
 * Error codes of the workflow component (TC470-TC489): definitions, executions, engines and their clients.
 * Stable: scripts match on them. A code is never reused for another meaning.
 */
export const WorkflowCode = {
  /** A definition is not valid Amazon States Language as this engine runs it (the message names the state path). */
  definition: 'TC470',
  /** No definition of that name (or version) is deployed on the component. */
  unknownDefinition: 'TC471',
  /** No execution of that id on the component (never started, or evicted after it finished). */
  unknownExecution: 'TC472',
  /** The execution input (or a flag value) is not valid JSON, or is too large. */
  input: 'TC473',
  /** A workflow engine's node configuration is invalid. */
  config: 'TC474',
  /** An execution of that name exists already with another definition or input. */
  executionExists: 'TC475',
  /** No deployment outputs, or the component is missing or not a workflow component. */
  noDeployment: 'TC476',
  /** The engines refused an operation as malformed (a client or engine of another version). */
  rejected: 'TC477',
  /** A bound of the engine was reached (running executions, definitions, history); the limit is named. */
  limit: 'TC478',
  /** `--wait` ran out of time before the execution finished; it goes on running. */
  waitTimeout: 'TC479',
  /** The definition file cannot be read or is not JSON. */
  definitionFile: 'TC480',
  /** The execution finished FAILED or ABORTED (`start --wait` exits non-zero). */
  executionFailed: 'TC481',
  /** Cancel of an execution that has already finished. */
  notRunning: 'TC482',
} as const;
