/**
 * Error codes of the placement area (TC100-TC199). Stable: scripts match them and people search for them,
 * so a code is never reused for another meaning. Listed in the README (section "placement").
 */
import { ExitCode, type ExitCodeValue, type SourceLocation, TcError } from '../kernel/errors.js';

export const PlacementCodes = {
  TC100: 'a layout entry is not a positive integer (zero, negative, fractional or not a number)',
  TC101: 'empty layout',
  TC102: 'more PMs than VMs (m > v): every PM must hold at least one VM',
  TC103: 'unknown threat',
  TC104: 'unknown majority to keep',
  TC105: 'attack range is not a range (use a..b with integers 0 <= a <= b, or one integer)',
  TC106: 'problem too large: the exact computation would exceed the time budget',
  TC107: 'VM or PM count is not a positive integer',
  TC108: 'no layout fits --max-per-pm (K * m < v, or K < 1)',
  TC109: 'unknown figure (the paper has Figures 2 to 5)',
  TC110: 'plot needs --figure or at least one --layout',
  TC111: 'cannot write the output file',
  TC112: 'the output file must end in .svg',
  TC113: 'the topology has no component to advise on',
} as const;
export type PlacementCode = keyof typeof PlacementCodes;

export function placementError(
  code: PlacementCode,
  message: string,
  opts: { hint?: string; exit?: ExitCodeValue; location?: SourceLocation; cause?: unknown } = {},
): TcError {
  return new TcError(code, message, { ...opts, exit: opts.exit ?? ExitCode.invalid });
}
