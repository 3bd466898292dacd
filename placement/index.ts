/**
 * Public interface of the placement advisor (pure, I/O-free). Other areas import only from here:
 * - plan/deploy: `advise` to lay out a component's nodes over a cloud's hosts;
 * - dashboard: `keepProbability` on the healthy subset, live;
 * - chaos: compares seeded fault draws against `keepProbability` (threat semantics in threats.md).
 */

export { advise } from './advise.js';
export { PlacementCodes } from './codes.js';
export {
  eq1FailureProbability,
  eq2KeepProbability,
  eq3ExpectedCorrectVms,
  expectedCleanVms,
  expectedFailedPms,
} from './equations.js';
export { balancedLayout, parseLayout, unbalancedLayout, validateLayout } from './layout.js';
export { majority } from './model.js';
export { attacksToBreak, keepCurve, keepProbability } from './risk.js';
export { TABLE1, table1Cell } from './table1.js';
export type {
  Advice,
  AdviseParams,
  Keep,
  Layout,
  LayoutFigures,
  RiskQuery,
  Table1Cell,
  Threat,
} from './types.js';
export { KEEP_NAMES, THREAT_NAMES } from './types.js';
