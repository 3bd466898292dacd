import { describe } from 'vitest';
import { simulationSuite } from './sim-suite.js';

describe('SMR simulation (second half of the seeds)', () => simulationSuite(1, 'test/smr/simulation-b.test.ts'));
