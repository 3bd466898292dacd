/**
 * The MapReduce node roles for the node host (runtime/role.ts): `job-tracker` (tracker.ts: the scheduling and voting
 * core behind a thin shell; trusted, TClouds D2.2.1, ch. 10) and `worker` (worker.ts: runs task replicas, serves map
 * outputs to reduce tasks).
 */
import type { RoleFactory } from '../../runtime/role.js';
import { jobTracker } from './tracker.js';
import { worker } from './worker.js';

export const roles: Record<string, RoleFactory> = { 'job-tracker': jobTracker, worker };
