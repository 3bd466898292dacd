import { describe } from 'vitest';
import { simulationSuite } from './sim-suite.js';

describe('SMR simulation (first half of the seeds)', () => simulationSuite(0, 'test/smr/simulation-a.test.ts'));
