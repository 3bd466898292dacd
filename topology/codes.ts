/**
 * Error and warning codes of the topology area (TC001-TC099). Stable: people search for them and CI
 * scripts match them, so a code is never reused for another meaning. Listed in the README ("Topology").
 */
export const TopologyCodes = {
  // Reading the file
  TC001: 'topology file not found',
  TC002: 'a directory was given where a topology file is expected',
  TC003: 'topology file too large',
  TC004: 'file is not text (binary data, NUL bytes or invalid UTF-8)',
  TC005: 'topology file is empty',
  TC006: 'YAML syntax error',
  TC007: 'duplicate key',
  TC008: 'too many YAML aliases (possible alias bomb)',
  TC009: 'topology file cannot be read',
  // Schema
  TC010: 'wrong type or invalid value',
  TC011: 'unknown key',
  // Semantic rules
  TC012: 'storage needs n >= 3f+1 clouds (DepSky)',
  TC013: 'component references a cloud that is not declared',
  TC014: 'Byzantine SMR needs n >= 3f+1 replicas',
  TC015: 'crash-tolerant SMR needs n >= 2f+1 replicas',
  TC016: 'one cloud holds more than f replicas of a component',
  TC017: 'a MapReduce worker pool must span at least f+1 clouds',
  TC018: 'aws, azure and gcp clouds need a region',
  TC019: '`path` is only for local clouds',
  TC020: 'client-resident and native modes have no gateways: `gateways` is ignored (warning)',
  TC021: 'appliance mode: replicas share one box (warning)',
  TC022: 'a component lists the same cloud twice',
  TC023: 'two local clouds share one directory',
  TC024: '`region` is ignored for local clouds (warning)',
  TC025: 'a declared cloud is used by no component (warning)',
  TC026: 'the topology declares no components (warning)',
  TC027: 'native mode runs on the hosts of one provider',
  TC028: 'a MapReduce pool needs at least f+1 workers per task',
  // Owned by the log component's range (components/log/codes.ts), checked here where the topology is read.
  TC463: '`auditLog` does not name a log component of the topology',
  // init / CLI
  TC030: 'refusing to overwrite an existing file without --force',
  TC031: 'invalid value for an init flag',
  TC032: 'input ended while init was asking a question',
} as const;

export type TopologyCode = keyof typeof TopologyCodes;
