/**
 * Typed node configuration: each kind's `config.ts` declares a zod schema per role; its `plan.ts` writes values of
 * the schema's input type into the plan (so the compiler checks the plan against the node), and its `node.ts`
 * parses `spec.config` with the same schema at start. A spec written by another version, or edited by hand, is
 * refused with the field and the reason, never read as `unknown as X`.
 */
import type { z } from 'zod';
import { ExitCode, TcError } from '../kernel/errors.js';

/** Parse `raw` with `schema`; the first problem becomes a TcError with `code`, naming the field. */
export function parseNodeConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  opts: { code: string; what: string },
): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length > 0 ? `config.${issue.path.join('.')}` : 'config';
  throw new TcError(opts.code, `${opts.what}: ${where}: ${issue.message}`, {
    exit: ExitCode.invalid,
    hint: 'the node spec was written by a different tclouds version or by hand; redeploy to rewrite it',
    location: { path: where },
  });
}
