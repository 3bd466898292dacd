/**
 * Console tokens: standard JWTs (RFC 7519) signed with EdDSA (Ed25519) by the `jose` library, issued by the
 * deployment's operator (`tclouds log token`) with the console's token key and checked by the console with its
 * public half: issuer and audience bound to one log of one stack, a lifetime of at most MAX_TOKEN_TTL_SECONDS, and
 * the grant claims of protocol/access.ts. A forged, expired or foreign token is refused with TC457.
 */
import type { KeyObject } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { LogCode } from './codes.js';
import { MAX_TOKEN_TTL_SECONDS } from './limits.js';
import { type Grant, GrantSchema } from './protocol/access.js';

export const TOKEN_AUDIENCE = 'tclouds-log-console';
export const tokenIssuer = (log: string): string => `tclouds:${log}`;

export async function issueToken(
  key: KeyObject,
  log: string,
  grant: Grant,
  ttlSeconds: number,
  now = Date.now(),
): Promise<string> {
  const g = GrantSchema.parse(grant);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
    throw new TcError(
      LogCode.unauthorized,
      `token lifetime must be 1..${MAX_TOKEN_TTL_SECONDS} seconds, got ${ttlSeconds}`,
      {
        exit: ExitCode.usage,
        hint: 'e.g. --ttl 1h',
      },
    );
  }
  const { sub, ...claims } = g;
  const iat = Math.floor(now / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(tokenIssuer(log))
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .sign(key);
}

/** The grant of a valid token, or a TC457 saying why not. */
export async function checkToken(key: KeyObject, log: string, token: string, now = Date.now()): Promise<Grant> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, {
      issuer: tokenIssuer(log),
      audience: TOKEN_AUDIENCE,
      algorithms: ['EdDSA'],
      currentDate: new Date(now),
      requiredClaims: ['exp', 'iat', 'sub'],
    }));
  } catch (e) {
    const why =
      e instanceof errors.JWTExpired
        ? 'the token has expired'
        : e instanceof errors.JWSSignatureVerificationFailed
          ? 'the token signature does not check (forged or for another log)'
          : e instanceof errors.JWTClaimValidationFailed
            ? `the token is not for this log (${e.claim})`
            : 'the token is malformed';
    throw new TcError(LogCode.unauthorized, why, {
      exit: ExitCode.invalid,
      hint: 'ask the operator for a token: `tclouds log token`',
    });
  }
  const exp = payload.exp as number;
  const iat = payload.iat as number;
  if (exp - iat > MAX_TOKEN_TTL_SECONDS) {
    throw new TcError(LogCode.unauthorized, 'the token lives longer than the console accepts', {
      exit: ExitCode.invalid,
    });
  }
  const { iss: _i, aud: _a, iat: _t, exp: _e, ...rest } = payload;
  const g = GrantSchema.safeParse(rest);
  if (!g.success) {
    throw new TcError(
      LogCode.unauthorized,
      `the token's claims are not a grant (${g.error.issues[0]?.path.join('.')})`,
      {
        exit: ExitCode.invalid,
      },
    );
  }
  return g.data;
}
