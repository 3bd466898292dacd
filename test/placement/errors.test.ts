import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../kernel/errors.js';
import { advise } from '../../placement/advise.js';
import { PlacementCodes } from '../../placement/codes.js';
import { balancedLayout, parseLayout, unbalancedLayout, validateLayout } from '../../placement/layout.js';
import { parseAttackRange } from '../../placement/range.js';
import { keepCurve, keepProbability } from '../../placement/risk.js';
import { adviseTopology } from '../../placement/topology-advice.js';
import type { Topology } from '../../topology/schema.js';
import { thrownTcError } from '../support/tc-error.js';

function codeOf(f: () => unknown): { code: string; exit: number; message: string } {
  const e = thrownTcError(f);
  return { code: e.code, exit: e.exit, message: e.message };
}

const Q = { threat: 'byzantine-vm', keep: 'pm-majority', removal: false } as const;

describe('bad input gets a clear TcError with a documented code', () => {
  it.each([
    ['zero entry', () => parseLayout('6,0,1'), 'TC100'],
    ['negative entry', () => parseLayout('6,-1,1'), 'TC100'],
    ['fractional entry', () => parseLayout('2.5,1'), 'TC100'],
    ['not a number', () => parseLayout('2,x'), 'TC100'],
    ['non-integer in the API', () => keepCurve([2, 1.5], Q, 3), 'TC100'],
    ['NaN in the API', () => keepProbability([2, Number.NaN], Q, 3), 'TC100'],
    ['empty layout', () => parseLayout(''), 'TC101'],
    ['empty layout in the API', () => validateLayout([]), 'TC101'],
    ['m > v', () => balancedLayout(3, 5), 'TC102'],
    ['m > v (advise)', () => advise({ vms: 3, pms: 5, ...Q }), 'TC102'],
    ['unknown threat', () => keepCurve([2, 2], { ...Q, threat: 'meteor' as never }, 3), 'TC103'],
    ['unknown keep', () => keepCurve([2, 2], { ...Q, keep: 'most' as never }, 3), 'TC104'],
    ['reversed range', () => parseAttackRange('5..2'), 'TC105'],
    ['not a range', () => parseAttackRange('lots'), 'TC105'],
    ['open range', () => parseAttackRange('3..'), 'TC105'],
    ['range too far', () => parseAttackRange('0..99999999'), 'TC105'],
    ['negative attacks', () => keepProbability([2, 2], Q, -1), 'TC105'],
    ['fractional attacks', () => advise({ vms: 4, pms: 2, ...Q, attacks: 1.5 }), 'TC105'],
    ['unbounded work', () => keepCurve([100_000, 3], { ...Q, threat: 'crash-vm' }, 1_000_000), 'TC106'],
    ['too many VMs', () => validateLayout([100_001]), 'TC106'],
    ['zero VMs', () => balancedLayout(0, 0), 'TC107'],
    ['fractional PMs', () => balancedLayout(10, 2.5), 'TC107'],
    ['capacity too small', () => unbalancedLayout(10, 5, 1), 'TC108'],
    ['capacity not an integer', () => advise({ vms: 10, pms: 5, ...Q, maxPerPm: 2.5 }), 'TC108'],
  ])('%s -> %s', (_name, f, code) => {
    const e = codeOf(f);
    expect(e.code).toBe(code);
    expect(e.exit).toBe(ExitCode.invalid);
    expect(e.message.length).toBeGreaterThan(10);
    expect(PlacementCodes).toHaveProperty(code);
  });

  it('a topology without components -> TC113', () => {
    const t = {
      name: 'x',
      mode: 'native',
      clouds: { a: { provider: 'local' } },
      placement: { threat: 'byzantine-vm', keep: 'pm-majority', removal: false },
      clients: { cidrs: [] },
      components: {},
    } as unknown as Topology;
    expect(codeOf(() => adviseTopology(t)).code).toBe('TC113');
  });
});
