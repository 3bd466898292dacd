/**
 * Access control of the Log Console (TClouds D2.2.1, ch. 11, §11.2 and §11.3.1-11.3.2): the seed's actors and what
 * each may do, and the policies that narrow what a reader sees by the cloud an entry came from and by that
 * cloud's jurisdiction ("medical logs read only in the same country"). Pure: the console checks the token's
 * signature and expiry (tokens.ts), then asks these functions.
 */
import { z } from 'zod';
import { MAX_NAME_LENGTH } from '../limits.js';
import type { Entry } from './entry.js';

export const ACTORS = ['producer', 'user', 'admin', 'reviewer'] as const;
export type Actor = (typeof ACTORS)[number];

const name = z.string().min(1).max(MAX_NAME_LENGTH);

/** The claims of a console token (besides iss, aud, iat, exp, which tokens.ts checks). */
export const GrantSchema = z.strictObject({
  /** Who the token was issued to: the account of a producer or user, the name of an admin or reviewer. */
  sub: name,
  actor: z.enum(ACTORS),
  /** Producer: the cloud and node its entries come from (the console stamps them; a producer cannot pick them). */
  cloud: name.optional(),
  node: name.optional(),
  /** Policy: only entries that came from these clouds (admins: the clouds they administer). */
  clouds: z.array(name).min(1).optional(),
  /** Policy: only entries from clouds of this jurisdiction. */
  jurisdiction: name.optional(),
});
export type Grant = z.infer<typeof GrantSchema>;

export type Action = 'append' | 'read';

/** Why a grant may not do `action` at all, or undefined. */
export function refuseAction(g: Grant, action: Action): string | undefined {
  if (action === 'append') {
    if (g.actor !== 'producer') return `a ${g.actor} token cannot append (only producers can)`;
    if (!g.cloud || !g.node) return 'a producer token must name its cloud and node';
    return undefined;
  }
  if (g.actor === 'producer') return 'a producer token cannot read the log';
  if (g.actor === 'admin' && !g.clouds) return 'an admin token must name the clouds it administers';
  return undefined;
}

/** The account a console-mediated entry is recorded under: the console's SMR identity and the token's subject. */
export function producerAccount(consoleClient: string, g: Grant): string {
  return `${consoleClient}:${g.sub}`;
}

/** Whether entry `e` is visible under grant `g`; `jurisdictions` maps clouds to their jurisdiction. */
export function visible(g: Grant, e: Entry, jurisdictions: Readonly<Record<string, string>>): boolean {
  if (g.actor === 'producer') return false;
  if (g.actor === 'user' && !(e.account === g.sub || e.account.endsWith(`:${g.sub}`))) return false;
  if (g.clouds && !g.clouds.includes(e.cloud)) return false;
  if (g.jurisdiction !== undefined && jurisdictions[e.cloud] !== g.jurisdiction) return false;
  return true;
}
