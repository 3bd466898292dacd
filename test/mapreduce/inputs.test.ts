/**
 * Inputs split into map task chunks (components/mapreduce/inputs.ts) on real files: cut at line ends, by size or by
 * lines, labelled with the first line of each chunk, read back byte for byte; a line longer than a chunk is TC492.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesChunks, readChunk, splitInputs } from '../../components/mapreduce/inputs.js';
import { TcError } from '../../kernel/errors.js';
import { tempDir } from '../support/cli.js';

const lines = Array.from({ length: 10 }, (_, i) => `line ${i + 1} ${'x'.repeat(i * 10)}`);
const text = `${lines.join('\n')}\n`;

describe('input chunks', () => {
  it('cuts by lines and by size at line ends, and reads back the whole input', async () => {
    const dir = await tempDir('mr-inputs');
    const file = path.join(dir, 'in.txt');
    await fs.writeFile(file, text);
    const byLines = await splitInputs([file], 4096, 3);
    expect(byLines.map((c) => c.label)).toEqual(['in.txt:1', 'in.txt:4', 'in.txt:7', 'in.txt:10']);
    const bySize = await splitInputs([file], 1100);
    expect(bySize.length).toBe(1);
    const small = await splitInputs([file], 1024 + 0);
    for (const chunks of [byLines, bySize, small]) {
      const back = Buffer.concat(await Promise.all(chunks.map(readChunk))).toString();
      expect(back).toBe(text);
      for (const c of chunks) expect((await readChunk(c)).toString().endsWith('\n')).toBe(true);
    }
    const mem = await bytesChunks('storage:v/o', Buffer.from(text), 4096, 4);
    expect(mem.map((c) => c.label)).toEqual(['storage:v/o:1', 'storage:v/o:5', 'storage:v/o:9']);
    expect(Buffer.concat(await Promise.all(mem.map(readChunk))).toString()).toBe(text);
  });

  it('refuses a line longer than a chunk and a missing file with TC492', async () => {
    const dir = await tempDir('mr-inputs');
    const file = path.join(dir, 'long.txt');
    await fs.writeFile(file, `short\n${'y'.repeat(3000)}\nend\n`);
    await expect(splitInputs([file], 1024)).rejects.toMatchObject({ code: 'TC492' });
    const missing = await splitInputs([path.join(dir, 'nope.txt')], 1024).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TcError);
    expect(missing).toMatchObject({ code: 'TC492' });
  });
});
