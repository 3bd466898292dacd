/**
 * Inputs split into map task chunks: at most `chunkBytes` each (and at most `chunkLines` lines when given), cut at
 * line ends so every record (line) is in one chunk; each chunk is labelled `<name>:<first line>` so a job error can
 * name the record. An input is a local file, or bytes already read (an object of a storage component).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { MapReduceCode } from './codes.js';
import { MAX_MAP_TASKS } from './limits.js';

export interface Chunk {
  label: string;
  file: string;
  offset: number;
  length: number;
  /** The input's bytes when it is not a local file (storage objects). */
  data?: Buffer;
}

/** Where a chunk ends: after its `lines`-th line, else at the last line end that fits, else null (a line too long). */
function cutAt(buf: Buffer, bytes: number, last: boolean, lines: number | undefined): number | null {
  if (lines !== undefined) {
    let at = -1;
    for (let n = 0; n < lines; n++) {
      at = buf.indexOf(NL, at + 1);
      if (at < 0 || at >= bytes) break;
      if (n === lines - 1) return at + 1;
    }
  }
  if (last) return bytes;
  const cut = buf.lastIndexOf(NL, bytes - 1);
  return cut < 0 ? null : cut + 1;
}

/** Reads `length` bytes at `offset` of a file or of in-memory bytes. */
type Reader = (buf: Buffer, length: number, offset: number) => Promise<number>;

const NL = 0x0a;

function inputError(message: string, file: string, hint?: string): TcError {
  return new TcError(MapReduceCode.input, message, {
    exit: ExitCode.notFound,
    location: { file },
    ...(hint ? { hint } : {}),
  });
}

/** The chunks of one input of `size` bytes (read once to find the line ends). */
async function chunksOf(
  input: { name: string; file: string; size: number; read: Reader; data?: Buffer },
  chunkBytes: number,
  chunkLines: number | undefined,
): Promise<Chunk[]> {
  const { name, file, size } = input;
  const out: Chunk[] = [];
  const buf = Buffer.alloc(Math.min(chunkBytes, size));
  let offset = 0;
  let line = 1;
  while (offset < size) {
    const bytes = await input.read(buf, Math.min(chunkBytes, size - offset), offset);
    const length = cutAt(buf, bytes, offset + bytes >= size, chunkLines);
    if (length === null) {
      throw inputError(
        `line ${line} of ${file} is longer than the chunk size (${chunkBytes} bytes)`,
        file,
        'raise --chunk-size',
      );
    }
    out.push({ label: `${name}:${line}`, file, offset, length, ...(input.data ? { data: input.data } : {}) });
    for (let i = buf.indexOf(NL, 0); i >= 0 && i < length; i = buf.indexOf(NL, i + 1)) line++;
    offset += length;
  }
  return out;
}

async function fileChunks(file: string, chunkBytes: number, chunkLines: number | undefined): Promise<Chunk[]> {
  const fh = await fs.open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw inputError(
      `cannot read input ${file}: ${e.code ?? e.message}`,
      file,
      'check the path (or name a storage object: storage:COMPONENT/OBJECT)',
    );
  });
  try {
    const size = (await fh.stat()).size;
    const read: Reader = async (buf, length, offset) => (await fh.read(buf, 0, length, offset)).bytesRead;
    return await chunksOf({ name: path.basename(file), file, size, read }, chunkBytes, chunkLines);
  } finally {
    await fh.close();
  }
}

/** Chunks of bytes already in memory (an object read from a storage component), named `name`. */
export function bytesChunks(
  name: string,
  data: Buffer,
  chunkBytes: number,
  chunkLines: number | undefined,
): Promise<Chunk[]> {
  const read: Reader = async (buf, length, offset) => data.copy(buf, 0, offset, offset + length);
  return chunksOf({ name, file: name, size: data.length, read, data }, chunkBytes, chunkLines);
}

/** Local files and already-read inputs (`loaded`, by the name given on the command line), in order. */
export async function splitInputs(
  files: readonly string[],
  chunkBytes: number,
  chunkLines?: number,
  loaded: ReadonlyMap<string, Buffer> = new Map(),
): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for (const f of files) {
    const data = loaded.get(f);
    out.push(
      ...(data
        ? await bytesChunks(f, data, chunkBytes, chunkLines)
        : await fileChunks(path.resolve(f), chunkBytes, chunkLines)),
    );
  }
  if (out.length === 0) throw inputError('the inputs are empty', files[0] ?? '', 'give at least one non-empty --input');
  if (out.length > MAX_MAP_TASKS) {
    throw new TcError(MapReduceCode.input, `${out.length} chunks is over the limit of ${MAX_MAP_TASKS} map tasks`, {
      exit: ExitCode.invalid,
      hint: 'raise --chunk-size',
    });
  }
  return out;
}

export async function readChunk(c: Chunk): Promise<Buffer> {
  if (c.data) return c.data.subarray(c.offset, c.offset + c.length);
  const fh = await fs.open(c.file, 'r');
  try {
    // Not zero-filled: the read overwrites all of it (a short read is an error below).
    const buf = Buffer.allocUnsafe(c.length);
    const { bytesRead } = await fh.read(buf, 0, c.length, c.offset);
    if (bytesRead !== c.length)
      throw inputError(
        `${c.file} got shorter while it was being uploaded`,
        c.file,
        'do not change an input while submitting',
      );
    return buf;
  } finally {
    await fh.close();
  }
}
