/**
 * `--json` is one style everywhere: a command that streams (static jsonOutput = 'events') prints newline-delimited
 * JSON as things happen; every other command prints one compact JSON document on one line. The commands declare it,
 * their --help says it, and the built CLI does it (one document, one line) for the commands that run offline.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo, runCli, tempDir } from '../support/cli.js';

/** The commands that stream, and what their --help says a line is. */
const STREAMING: Record<string, RegExp> = {
  deploy: /newline-delimited JSON: one \{"event"/,
  destroy: /\{"event":\.\.\.\} lines/,
  'log:tail': /one JSON line/,
  status: /one document per line/,
};

/** Help processes at once: each is a Node start; the machine is shared. */
const HELP_CONCURRENCY = 4;

interface CommandClass {
  jsonOutput?: string;
  enableJsonFlag?: boolean;
  description?: string;
  summary?: string;
}

function commandFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return commandFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

const files = commandFiles(path.join(repo, 'commands'));
const idOf = (file: string) =>
  path
    .relative(path.join(repo, 'commands'), file)
    .replace(/\.ts$/, '')
    .split(path.sep)
    .filter((p) => p !== 'index')
    .join(':');

async function loadCommands(): Promise<Map<string, CommandClass>> {
  const out = new Map<string, CommandClass>();
  for (const f of files) out.set(idOf(f), ((await import(f)) as { default: CommandClass }).default);
  return out;
}

describe('--json style of every command', () => {
  it('the commands that stream declare it and document what one line is; every other prints one document', async () => {
    const commands = await loadCommands();
    expect(commands.size).toBeGreaterThan(40);
    const streaming = [...commands].filter(([, c]) => c.jsonOutput === 'events').map(([id]) => id);
    expect(streaming.sort()).toEqual(Object.keys(STREAMING).sort());
    for (const [id, c] of commands) {
      expect(c.enableJsonFlag, `${id} has --json`).toBe(true);
      expect(['document', 'events'], id).toContain(c.jsonOutput);
      const text = c.description ?? '';
      if (c.jsonOutput === 'events') expect(text, id).toMatch(STREAMING[id]!);
      // A document command never documents event lines for --json.
      else expect(text, id).not.toMatch(/\{"event"|NDJSON events/);
    }
  });

  it('every --help shows --json, and the streaming ones say how lines come', { timeout: 300_000 }, async () => {
    const cwd = await tempDir('json-help');
    const ids = files.map(idOf);
    const queue = [...ids];
    const helps = new Map<string, string>();
    await Promise.all(
      Array.from({ length: HELP_CONCURRENCY }, async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          const r = await runCli([...id.split(':'), '--help'], cwd, { timeoutMs: 60_000 });
          expect(r.code, `${id}: ${r.stderr}`).toBe(0);
          helps.set(id, r.stdout.replace(/\s+/g, ' '));
        }
      }),
    );
    for (const id of ids) {
      expect(helps.get(id), id).toContain('--json');
      if (STREAMING[id]) expect(helps.get(id), id).toMatch(STREAMING[id]!);
    }
  });

  it('offline commands print one compact document on one line, errors too', { timeout: 120_000 }, async () => {
    const cwd = await tempDir('json-doc');
    const init = await runCli(['init', '--clouds', 'local', '--name', 'jsonstyle', '--json'], cwd);
    const runs = [
      init,
      await runCli(['validate', '--json'], cwd),
      await runCli(['plan', '--json'], cwd),
      await runCli(['schema', '--json'], cwd),
      await runCli(['placement', 'table', '--json'], cwd),
      await runCli(['doctor', '--json'], cwd, { env: { HOME: cwd } }),
      await runCli(['plan', 'missing.yaml', '--json'], cwd),
      await runCli(['doctor', '--target', 'nowhere', '--json'], cwd),
    ];
    for (const r of runs) {
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines, r.stdout.slice(0, 200)).toHaveLength(1);
      expect(() => JSON.parse(lines[0]!)).not.toThrow();
    }
    for (const r of runs.slice(-2)) expect(JSON.parse(r.stdout)).toHaveProperty('error.code');
  });
});
