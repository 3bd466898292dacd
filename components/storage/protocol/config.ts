/**
 * Cloud reconfiguration notice (§1.9, DS-22). After moving a data unit to a new cloud set, the writer puts a
 * signed `config` file on the remaining clouds. A reader accepts a configuration only when the same signed notice
 * is read from at least f+1 clouds: a single faulty cloud (or f of them) cannot redirect readers, even by
 * replaying an old correctly signed notice, because the newest notice seen on f+1 clouds wins.
 */
import { Core } from './core.js';
import { CONFIG_FILE, checkDataUnitName, containerOf } from './names.js';
import type { CloudReply, CloudSet } from './types.js';

export interface CloudConfig {
  format: 1;
  du: string;
  /** Increases with every reconfiguration of the data unit. */
  epoch: number;
  clouds: string[];
  f: number;
}

const DOMAIN = 'tclouds-depsky-config-v1\n';

export function configSigningBytes(c: CloudConfig): Uint8Array {
  return new TextEncoder().encode(
    DOMAIN + JSON.stringify({ format: c.format, du: c.du, epoch: c.epoch, clouds: c.clouds, f: c.f }),
  );
}

export function encodeConfigFile(c: CloudConfig, signature: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify({ config: c, sig: Buffer.from(signature).toString('base64') })}\n`);
}

export function parseConfigFile(bytes: Uint8Array): { config: CloudConfig; signature: Uint8Array } | undefined {
  try {
    const doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as {
      config?: Record<string, unknown>;
      sig?: unknown;
    };
    const c = doc.config;
    if (!c || typeof doc.sig !== 'string' || c.format !== 1) return undefined;
    if (typeof c.du !== 'string' || checkDataUnitName(c.du) !== undefined) return undefined;
    if (typeof c.epoch !== 'number' || !Number.isSafeInteger(c.epoch) || c.epoch < 1) return undefined;
    if (typeof c.f !== 'number' || !Number.isSafeInteger(c.f) || c.f < 1) return undefined;
    if (!Array.isArray(c.clouds) || !c.clouds.every((x) => typeof x === 'string')) return undefined;
    const config: CloudConfig = { format: 1, du: c.du, epoch: c.epoch, clouds: [...(c.clouds as string[])], f: c.f };
    return { config, signature: new Uint8Array(Buffer.from(doc.sig, 'base64')) };
  } catch {
    return undefined;
  }
}

/** Reads `config` from all clouds; result: the newest configuration seen (validly signed) on >= f+1 clouds. */
export class ConfigCore extends Core<{ config?: CloudConfig; seenOn: number }> {
  private readonly container: string;
  private readonly counts = new Map<string, { config: CloudConfig; clouds: Set<number> }>();

  constructor(
    clouds: CloudSet,
    private readonly du: string,
    private readonly open: (bytes: Uint8Array) => CloudConfig | undefined,
  ) {
    super(clouds);
    this.container = containerOf(du);
  }

  protected onStart(): void {
    this.callAll({ kind: 'get', container: this.container, name: CONFIG_FILE }, 'cfg');
  }

  protected onReply(_tag: string, reply: CloudReply): void {
    const r = reply.result;
    if (r.status === 'fetched' && r.value.bytes) {
      const c = this.open(r.value.bytes);
      if (c && c.du === this.du) {
        const key = JSON.stringify(c);
        const e = this.counts.get(key) ?? { config: c, clouds: new Set<number>() };
        e.clouds.add(reply.cloud);
        this.counts.set(key, e);
      }
    }
    // Wait for every cloud (answer or failure) so that the newest notice on f+1 clouds is not missed.
    if (this.pending.size > 0) return;
    let best: { config: CloudConfig; seenOn: number } | undefined;
    for (const { config, clouds } of this.counts.values()) {
      if (clouds.size >= this.f + 1 && (best === undefined || config.epoch > best.config.epoch)) {
        best = { config, seenOn: clouds.size };
      }
    }
    this.done(best ?? { seenOn: 0 });
  }
}
