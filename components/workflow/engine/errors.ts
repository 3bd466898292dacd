/** Which Retry or Catch entry of a state handles an error (Amazon States Language rules). */
import type { Catcher, Retrier } from '../asl/definition.js';

/**
 * States.ALL matches every error but States.Runtime (a broken definition is not retried into working);
 * States.TaskFailed matches every error of a Task except a timeout.
 */
export function errorMatches(names: readonly string[], error: string): boolean {
  if (names.includes(error)) return true;
  if (error === 'States.Runtime') return false;
  if (names.includes('States.ALL')) return true;
  return names.includes('States.TaskFailed') && error !== 'States.Timeout';
}

/** Default retry policy of Step Functions: 3 attempts, 1 s, doubling. */
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_INTERVAL_SECONDS = 1;
const DEFAULT_BACKOFF = 2;

/** The retrier that takes this error and the delay before the next attempt, or undefined when none does. */
export function retryDelay(
  retriers: readonly Retrier[],
  used: number[],
  error: string,
): { index: number; delayMs: number } | undefined {
  const index = retriers.findIndex((r) => errorMatches(r.ErrorEquals, error));
  if (index < 0) return undefined;
  const r = retriers[index]!;
  const count = used[index] ?? 0;
  if (count >= (r.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS)) return undefined;
  const seconds = (r.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * (r.BackoffRate ?? DEFAULT_BACKOFF) ** count;
  const capped = r.MaxDelaySeconds === undefined ? seconds : Math.min(seconds, r.MaxDelaySeconds);
  return { index, delayMs: Math.round(capped * 1000) };
}

export function catcherFor(catchers: readonly Catcher[], error: string): Catcher | undefined {
  return catchers.find((c) => errorMatches(c.ErrorEquals, error));
}
