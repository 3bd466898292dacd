/**
 * A credential that expires, fetched again before it does. One fetch at a time (concurrent callers share it); a
 * refresh that fails while the held credential is still valid keeps using it (a metadata service restarting for a
 * second does not fail writes), one that fails after expiry fails the call.
 */

/** Refresh this long before expiry (the providers' instance credentials live 1-12 hours)... */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
/** ...but never before this fraction of a short lifetime has passed. */
const REFRESH_AT_LIFETIME_FRACTION = 0.5;

export interface Expiring<T> {
  value: T;
  /** Epoch ms. */
  expiresAt: number;
}

export class RefreshingCredential<T> {
  private held: { value: T; expiresAt: number; refreshAt: number } | undefined;
  private inflight: Promise<Expiring<T>> | undefined;
  /** How many times the credential was fetched (tests and logs). */
  fetches = 0;

  constructor(
    private readonly fetchOne: () => Promise<Expiring<T>>,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<Expiring<T>> {
    const t = this.now();
    const held = this.held;
    if (held && t < held.refreshAt) return { value: held.value, expiresAt: held.expiresAt };
    try {
      return await this.refresh();
    } catch (e) {
      if (held && this.now() < held.expiresAt) return { value: held.value, expiresAt: held.expiresAt };
      throw e;
    }
  }

  private refresh(): Promise<Expiring<T>> {
    this.inflight ??= (async () => {
      try {
        const fetchedAt = this.now();
        this.fetches++;
        const got = await this.fetchOne();
        const lifetime = Math.max(0, got.expiresAt - fetchedAt);
        const before = Math.min(REFRESH_BEFORE_EXPIRY_MS, lifetime * (1 - REFRESH_AT_LIFETIME_FRACTION));
        this.held = { value: got.value, expiresAt: got.expiresAt, refreshAt: got.expiresAt - before };
        return got;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}
