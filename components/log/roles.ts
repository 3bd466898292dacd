/** The node software of a log component, loaded on demand by the kinds registry. */
import type { RoleFactory } from '../../runtime/role.js';
import { consoleRoles } from './console-node.js';
import { coreRoles } from './core-node.js';

export const roles: Record<string, RoleFactory> = { ...coreRoles, ...consoleRoles };
