/**
 * Local file inputs split into map task chunks: at most `chunkBytes` each, cut at line ends so every record (line)
 * is in one chunk; each chunk is labelled `<file name>:<first line>` so a job error can name the record.
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
}

const NL = 0x0a;

function inputError(message: string, file: string, hint?: string): TcError {
  return new TcError(MapReduceCode.input, message, {
    exit: ExitCode.notFound,
    location: { file },
    ...(hint ? { hint } : {}),
  });
}

/** The chunks of one file (read once to find the line ends). */
async function chunksOf(file: string, chunkBytes: number): Promise<Chunk[]> {
  const fh = await fs.open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw inputError(
      `cannot read input ${file}: ${e.code ?? e.message}`,
      file,
      'inputs are local files; check the path',
    );
  });
  try {
    const size = (await fh.stat()).size;
    const name = path.basename(file);
    const out: Chunk[] = [];
    const buf = Buffer.alloc(chunkBytes);
    let offset = 0;
    let line = 1;
    while (offset < size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(chunkBytes, size - offset), offset);
      let length = bytesRead;
      if (offset + bytesRead < size) {
        const cut = buf.lastIndexOf(NL, bytesRead - 1);
        if (cut < 0)
          throw inputError(
            `a line of ${file} at line ${line} is longer than the chunk size (${chunkBytes} bytes)`,
            file,
            'raise --chunk-size',
          );
        length = cut + 1;
      }
      out.push({ label: `${name}:${line}`, file, offset, length });
      for (let i = buf.indexOf(NL, 0); i >= 0 && i < length; i = buf.indexOf(NL, i + 1)) line++;
      offset += length;
    }
    return out;
  } finally {
    await fh.close();
  }
}

export async function splitInputs(files: readonly string[], chunkBytes: number): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for (const f of files) out.push(...(await chunksOf(path.resolve(f), chunkBytes)));
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
  const fh = await fs.open(c.file, 'r');
  try {
    const buf = Buffer.alloc(c.length);
    await fh.read(buf, 0, c.length, c.offset);
    return buf;
  } finally {
    await fh.close();
  }
}
