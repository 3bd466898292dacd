/**
 * S3 access keys of a storage component, issued per client by `tclouds storage credentials create`.
 *
 * SigV4 is an HMAC: the gateway needs the client's secret itself to verify a request, so a one-way hash of it
 * cannot be stored. Instead no secret is stored at all: secret = HMAC-SHA256(master, access key id), with
 * master = HKDF-SHA256(the component's writer signing key, "tclouds/s3/v1", "s3-credentials|<component>"). The
 * gateways hold the writer key already (they sign every write); the CLI that issues keys holds it too (it is the
 * component's writer). Whoever has the writer key can write every object anyway, so deriving from it gives no one
 * more power, and there is nothing new to distribute, back up or leak. The secret is shown once by `create`.
 *
 * What the gateways need to know per key (buckets, read or read-write, revoked or not) is not secret: it is kept
 * in the component itself, in the data unit `.tclouds/s3-credentials`, signed by the writer key like every
 * object, so every gateway of the component (and a new one) reads the same list and nobody without the writer key
 * can add a key or lift a revocation. Gateways cache it for CREDENTIALS_TTL_MS (a revocation takes effect within it).
 */
import { createHmac, hkdfSync, type KeyObject, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { S3Error } from './errors.js';

/** The data unit holding the access key list (hidden from S3 listings, refused as an S3 key). */
export const CREDENTIALS_DU = '.tclouds/s3-credentials';
/** Prefix of the data units the gateway keeps for itself. */
export const RESERVED_PREFIX = '.tclouds/';
/** How long a gateway trusts its copy of the key list; a revoked key is refused after at most this long. */
export const CREDENTIALS_TTL_MS = 2_000;
/** Least time between two reloads caused by an unknown access key (a flood of bad keys costs one read per window). */
export const UNKNOWN_KEY_RELOAD_MS = 250;
const ACCESS_KEY_PREFIX = 'TC';
const ACCESS_KEY_RANDOM_CHARS = 18;
const SECRET_CHARS = 40;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export const CredentialRecordSchema = z.object({
  accessKeyId: z.string().regex(/^TC[A-Z2-7]{18}$/),
  buckets: z.array(z.string().min(1)).min(1),
  access: z.enum(['read', 'read-write']),
  created: z.string(),
  revoked: z.string().optional(),
  label: z.string().max(200).optional(),
});
export type CredentialRecord = z.infer<typeof CredentialRecordSchema>;

const StoreSchema = z.object({ format: z.literal(1), keys: z.array(CredentialRecordSchema) });
export type CredentialStore = z.infer<typeof StoreSchema>;

export function credentialMaster(writerKey: KeyObject, component: string): Buffer {
  const ikm = writerKey.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(hkdfSync('sha256', ikm, 'tclouds/s3/v1', `s3-credentials|${component}`, 32));
}

export function secretFor(master: Buffer, accessKeyId: string): string {
  return createHmac('sha256', master).update(`secret|${accessKeyId}`).digest('base64url').slice(0, SECRET_CHARS);
}

export function newAccessKeyId(): string {
  const bytes = randomBytes(ACCESS_KEY_RANDOM_CHARS);
  let id = ACCESS_KEY_PREFIX;
  for (const b of bytes) id += BASE32[b & 31];
  return id;
}

export function emptyStore(): CredentialStore {
  return { format: 1, keys: [] };
}

export function parseStore(bytes: Uint8Array): CredentialStore | undefined {
  try {
    const r = StoreSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export function encodeStore(store: CredentialStore): Uint8Array {
  return Buffer.from(`${JSON.stringify(store, null, 2)}\n`);
}

/** Buckets of a component: the component itself (all of it) and `<component>.<sub>` (the prefix `<sub>/`). */
export function bucketPrefix(component: string, bucket: string): string | undefined {
  if (bucket === component) return '';
  const sub = bucket.startsWith(`${component}.`) ? bucket.slice(component.length + 1) : undefined;
  return sub !== undefined && /^[a-z0-9][a-z0-9-]{0,40}$/.test(sub) ? `${sub}/` : undefined;
}

/** Refuses what this key may not do on `bucket`; `write` for every operation that changes objects. */
export function authorize(rec: CredentialRecord, component: string, bucket: string, write: boolean): void {
  if (!rec.buckets.includes(bucket) && !rec.buckets.includes(component)) {
    throw new S3Error('AccessDenied', `access key ${rec.accessKeyId} is not allowed on bucket ${bucket}`);
  }
  if (write && rec.access !== 'read-write') {
    throw new S3Error('AccessDenied', `access key ${rec.accessKeyId} is read-only`);
  }
}

/** Buckets a key may list: its own scope (the whole component's key sees the component bucket). */
export function visibleBuckets(rec: CredentialRecord): string[] {
  return [...new Set(rec.buckets)].sort();
}

/**
 * A gateway's view of the key list: loaded from the component through `load` and trusted for CREDENTIALS_TTL_MS.
 * `load` resolves undefined when the list does not exist yet (no key was ever issued).
 */
export class CredentialCache {
  private store: CredentialStore = emptyStore();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly load: () => Promise<CredentialStore | undefined>,
    private readonly master: Buffer,
  ) {}

  private reload(): Promise<void> {
    this.loading ??= this.load()
      .then((s) => {
        this.store = s ?? emptyStore();
        this.loadedAt = Date.now();
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  /** The key's record and secret; InvalidAccessKeyId when it is unknown or revoked. */
  async lookup(accessKeyId: string): Promise<{ record: CredentialRecord; secret: string }> {
    const find = () => this.store.keys.find((k) => k.accessKeyId === accessKeyId);
    if (Date.now() - this.loadedAt > CREDENTIALS_TTL_MS) await this.reload();
    if (!find()) {
      // A key issued a moment ago: look again, but at most once per UNKNOWN_KEY_RELOAD_MS (waiting, not refusing).
      const wait = this.loadedAt + UNKNOWN_KEY_RELOAD_MS - Date.now();
      if (wait > 0) await sleep(wait);
      await this.reload();
    }
    const record = find();
    if (!record || record.revoked) {
      throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    }
    return { record, secret: secretFor(this.master, accessKeyId) };
  }
}
