/**
 * HTTP for the boot path, with the retries a fresh VM needs: an AWS VM has no route out until its Elastic IP is
 * associated, and metadata services and stores answer 5xx/429 under load. Network errors, 5xx and 429 are
 * retried with exponential backoff; any other answer goes back to the caller, which names what a 401, 403 or
 * 404 means for its provider (a refusal is never retried: it will not change by waiting).
 */
export const FETCH_ATTEMPTS = 8;
export const BACKOFF_FIRST_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;
/** One metadata or secret request. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** One artifact download (the packed node software, tens of MB). */
export const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

export interface Attempted {
  /** The last answer, when the server answered at all. */
  response?: Response;
  /** The last network error, when it never answered. */
  error?: Error;
}

const retryable = (status: number) => status >= 500 || status === 429;

/**
 * `init` is called per attempt (signatures carry the time). Resolves with the first non-retryable answer, or
 * with the last failure once the attempts are used up.
 */
export async function fetchWithRetry(
  url: string,
  init: () => RequestInit,
  timeoutMs = REQUEST_TIMEOUT_MS,
  attempts = FETCH_ATTEMPTS,
): Promise<Attempted> {
  let last: Attempted = {};
  let wait = BACKOFF_FIRST_MS;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) {
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, BACKOFF_MAX_MS);
    }
    try {
      const response = await fetch(url, { ...init(), signal: AbortSignal.timeout(timeoutMs) });
      if (!retryable(response.status)) return { response };
      await response.body?.cancel();
      last = { response };
    } catch (e) {
      last = { error: e as Error };
    }
  }
  return last;
}

/** `HTTP 403` / `connection refused` for messages. */
export function describe(a: Attempted): string {
  if (a.response) return `HTTP ${a.response.status}`;
  const cause = (a.error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return cause ?? a.error?.message ?? 'no answer';
}

export async function bodyText(a: Attempted): Promise<string> {
  return a.response ? await a.response.text().catch(() => '') : '';
}
