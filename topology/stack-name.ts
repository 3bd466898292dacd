/**
 * The stack a topology deploys as. A pipeline runs the same topology in parallel jobs, which must not share a stack
 * (its records, its 127.x addresses, its cloud resources): a suffix (`TCLOUDS_STACK_SUFFIX`, or `--stack-suffix`
 * which sets it) is appended to the topology's name as `<name>-<suffix>`, and `TCLOUDS_STACK` names the stack
 * outright (the suffix is then not added: `tclouds outputs --format env` exports the full name as TCLOUDS_STACK,
 * and later steps that still have the suffix set must land on the same stack). Every command that reads a
 * topology goes through loadTopology (or the lean path's cache), so they all agree on the stack.
 */
import { ExitCode, TcError } from '../kernel/errors.js';
import { NAME_PATTERN } from './files.js';

export const STACK_ENV = 'TCLOUDS_STACK';
export const STACK_SUFFIX_ENV = 'TCLOUDS_STACK_SUFFIX';

/** A stack name that is not a valid name (after the override and the suffix). */
export const BAD_STACK_NAME = 'TC034';

/**
 * The effective stack name of a topology named `name`, from the environment. Suffixes are lower-cased (run ids
 * and branch names come in any case); anything else that is not a name character is refused, not rewritten, so
 * two different suffixes never end up as one stack.
 */
export function effectiveStackName(name: string, env: Readonly<Record<string, string | undefined>>): string {
  const override = env[STACK_ENV]?.trim();
  const suffix = override ? undefined : env[STACK_SUFFIX_ENV]?.trim().toLowerCase();
  const full = override ? override : suffix ? `${name}-${suffix}` : name;
  if (NAME_PATTERN.test(full)) return full;
  const from = [override ? `${STACK_ENV}=${override}` : `name ${name}`, suffix ? `suffix ${suffix}` : '']
    .filter(Boolean)
    .join(' and ');
  throw new TcError(BAD_STACK_NAME, `stack name "${full}" (from ${from}) is not a valid stack name`, {
    exit: ExitCode.invalid,
    hint:
      'a stack name is a lower-case letter, then up to 39 lower-case letters, digits or dashes, suffix included; ' +
      `shorten the name or the suffix (e.g. \`--stack-suffix "\${GITHUB_RUN_ID}"\`)`,
  });
}
