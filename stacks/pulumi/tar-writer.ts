/**
 * A deterministic tar stream (POSIX ustar, with a PAX header for paths too long for ustar): the same files give
 * the same bytes on every machine, whatever their mtimes, owners or the order readdir returns them in. Pure:
 * entries in, 512-byte blocks out.
 */

/** Every entry's mtime: npm pack's fixed date, so a repack of the same build has the same SHA-256. */
export const FIXED_MTIME_S = Date.UTC(1985, 9, 26, 8, 15, 0) / 1000;
const BLOCK = 512;
const USTAR_NAME_MAX = 100;
const USTAR_PREFIX_MAX = 155;

export interface TarEntry {
  /** Path inside the archive, with `/` separators. */
  path: string;
  data: Uint8Array;
  executable: boolean;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, prefix: string, size: number, mode: number, type: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, USTAR_NAME_MAX, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(FIXED_MTIME_S, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(prefix, 345, USTAR_PREFIX_MAX, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

function padded(data: Uint8Array): Buffer[] {
  const rest = data.length % BLOCK;
  return rest === 0 ? [Buffer.from(data)] : [Buffer.from(data), Buffer.alloc(BLOCK - rest)];
}

/** ustar name/prefix split of a path, or undefined when it needs a PAX header. */
function ustarSplit(path: string): [string, string] | undefined {
  if (Buffer.byteLength(path) <= USTAR_NAME_MAX) return [path, ''];
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= USTAR_PREFIX_MAX && Buffer.byteLength(name) <= USTAR_NAME_MAX)
      return [name, prefix];
  }
  return undefined;
}

/** A PAX record `LEN path=VALUE\n`, whose LEN counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len++;
  return `${len}${body}`;
}

/** The blocks of one file entry. */
export function tarEntry(e: TarEntry): Buffer[] {
  const mode = e.executable ? 0o755 : 0o644;
  const split = ustarSplit(e.path);
  if (split) return [header(split[0], split[1], e.data.length, mode, '0'), ...padded(e.data)];
  const pax = Buffer.from(paxRecord('path', e.path), 'utf8');
  const short = e.path.slice(-USTAR_NAME_MAX).replace(/^[^/]*\//, '');
  return [
    header('PaxHeader', '', pax.length, 0o644, 'x'),
    ...padded(pax),
    header(short, '', e.data.length, mode, '0'),
    ...padded(e.data),
  ];
}

/** The two zero blocks that end an archive. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
