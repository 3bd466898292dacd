/**
 * One streamed DepSky-CA round trip in a process of its own, so that its peak memory is its own: writes a file of
 * `STORAGE_RSS_BYTES` random bytes (streamed to disk, never whole in memory), puts it over four local-directory
 * clouds (n=4, f=1), reads it back into another file, compares the two by SHA-256, and prints one JSON line:
 * {"bytes","writeMs","readMs","peakRssBytes","equal"}. The peak is VmHWM of /proc/self/status (Linux), else
 * process.resourceUsage().maxRSS. Run by bench/storage.ts (4 GiB) and test/storage/streaming.test.ts (a few
 * hundred MiB): `npx tsx bench/storage-rss.ts DIR`.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { DepSkyClient } from '../components/storage/client.js';
import { LocalDirectoryDriver } from '../components/storage/drivers/local.js';

/** Random data is generated in chunks of this size while the source file is written. */
const CHUNK_BYTES = 4 << 20;

async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  // One random chunk, its first 4 bytes renumbered for each write: unique per segment, and no garbage (the
  // stream is done with the chunk once it drained), so the peak measured later is the round trip's own.
  const chunk = randomBytes(CHUNK_BYTES);
  for (let at = 0, i = 0; at < bytes; at += CHUNK_BYTES, i++) {
    chunk.writeUInt32BE(i, 0);
    const part = chunk.subarray(0, Math.min(CHUNK_BYTES, bytes - at));
    if (!out.write(part)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
}

/**
 * SHA-256 of a file read through one reused buffer: the check allocates nothing per chunk, so the peak measured
 * after it is the round trip's own (a read stream's fresh 1 MiB chunks added 40-65 MB of garbage to it).
 */
async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fh = await fs.open(file, 'r');
  try {
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

async function peakRss(): Promise<number> {
  const status = await fs.readFile('/proc/self/status', 'utf8').catch(() => '');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const bytes = Number(process.env.STORAGE_RSS_BYTES ?? 4 * 2 ** 30);
  if (!dir || !Number.isSafeInteger(bytes)) throw new Error('usage: STORAGE_RSS_BYTES=N tsx bench/storage-rss.ts DIR');
  const src = path.join(dir, 'source.bin');
  const out = path.join(dir, 'out.bin');
  await writeRandomFile(src, bytes);
  if (process.env.STORAGE_RSS_TRACE) console.error('after source', await peakRss());
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const drivers = [0, 1, 2, 3].map((i) => new LocalDirectoryDriver(`c${i}`, path.join(dir, `c${i}`)));
  const client = new DepSkyClient({
    drivers,
    f: 1,
    protocol: 'depsky-ca',
    verifyKey: publicKey,
    signKey: privateKey,
    writer: 'be5c',
    retry: { timeoutMs: 600_000, attempts: 2 },
    lingerMs: 600_000,
  });
  let t0 = performance.now();
  await client.put('big', { file: src });
  await client.close();
  const writeMs = performance.now() - t0;
  if (process.env.STORAGE_RSS_TRACE) console.error('after put', await peakRss());
  t0 = performance.now();
  await client.getToFile('big', out);
  const readMs = performance.now() - t0;
  const equal = (await sha256File(src)) === (await sha256File(out));
  console.log(JSON.stringify({ bytes, writeMs, readMs, peakRssBytes: await peakRss(), equal }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
