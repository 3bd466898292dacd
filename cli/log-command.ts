/**
 * What the `tclouds log` commands share: flags, opening the core client, reading and verifying the log from
 * storage, parsing times and NDJSON entries. Commands stay thin: parse, call these, render.
 */

import { createInterface } from 'node:readline';
import { Args, Flags } from '@oclif/core';
import { checkEntry, LogClient } from '../components/log/client.js';
import { LogCode } from '../components/log/codes.js';
import {
  bucketDriversOf,
  coreClient,
  coreKeys,
  type LogDeployment,
  openDeployment,
} from '../components/log/deployment.js';
import type { VerifyCheckpoint } from '../components/log/protocol/checkpoint.js';
import type { EntryInput } from '../components/log/protocol/entry.js';
import type { VerifyReport } from '../components/log/protocol/verify.js';
import { verifyStored, verifyStoredFrom } from '../components/log/reader.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import { deploymentFileFlag } from './topology-file.js';

export const logComponentArg = Args.string({ description: 'log component', required: true });

export const logFlags = {
  file: deploymentFileFlag,
  'stack-dir': Flags.string({ description: 'Use the deployment outputs in this directory (.tclouds/<stack>) instead' }),
};

export const coreFlags = {
  ...logFlags,
  timeout: Flags.integer({ default: 40, min: 1, description: 'Seconds to wait for f+1 matching replies of the core' }),
};

export async function deploymentOf(
  flags: { file: string; 'stack-dir'?: string | undefined },
  component: string,
): Promise<LogDeployment> {
  return openDeployment({ file: flags.file, stackDir: flags['stack-dir'] }, component);
}

/** A connected core client; fails with TC460-style unavailability when fewer than n-f replicas answer. */
export async function openCore(d: LogDeployment, timeoutSeconds: number): Promise<LogClient> {
  const smr = await coreClient(d, { timeoutMs: timeoutSeconds * 1000 });
  const connected = await smr.connect(smr.n - smr.f, Math.min(timeoutSeconds * 1000, 5000));
  if (connected < smr.n - smr.f) {
    await smr.close();
    throw new TcError(
      LogCode.storage,
      `only ${connected} of ${smr.n} core replicas of "${d.component}" are reachable (need ${smr.n - smr.f})`,
      {
        exit: ExitCode.unavailable,
        hint: 'check `tclouds status`; redeploy with `tclouds deploy --target local` if nodes are down',
      },
    );
  }
  return new LogClient(smr);
}

/**
 * The whole log as read from storage alone and verified (chain, authenticators, Merkle tree). `decode: false`
 * (`log verify`) leaves `entries` empty: the entries are checked, not parsed.
 */
export async function readVerified(
  d: LogDeployment,
  since?: { size: number; root: string },
  o: { decode?: boolean } = {},
): Promise<VerifyReport & { incomplete: string[] }> {
  return verifyStored(await bucketDriversOf(d), {
    log: d.log,
    n: d.n,
    f: d.f,
    keys: coreKeys(d),
    since,
    ...(o.decode === false ? { decode: false } : {}),
  });
}

/** The log verified from a checkpoint on: only the segments sealed since are read and checked. */
export async function readVerifiedFrom(d: LogDeployment, cp: VerifyCheckpoint) {
  return verifyStoredFrom(await bucketDriversOf(d), { log: d.log, n: d.n, f: d.f, keys: coreKeys(d) }, cp);
}

/** NDJSON entries from stdin, each checked; errors name the line. */
export async function readStdinEntries(): Promise<EntryInput[]> {
  const out: EntryInput[] = [];
  let line = 0;
  for await (const text of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    if (text.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new TcError(LogCode.badEntry, `stdin line ${line}: not JSON`, {
        exit: ExitCode.invalid,
        hint: 'one JSON object per line: {"cloud","node","type","msg"}',
      });
    }
    out.push(checkEntry(raw, `stdin line ${line}`));
  }
  return out;
}

/** A time flag: ISO 8601, milliseconds since the epoch, or a duration ago (`15m`, `2h`, `1d`). */
export function parseTime(text: string, flag: string, now = Date.now()): number {
  if (/^\d{10,}$/.test(text)) return Number(text);
  const ago = /^(\d+)(s|m|h|d)$/.exec(text);
  if (ago)
    return now - Number(ago[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(text);
  if (Number.isNaN(t)) {
    throw new TcError(
      LogCode.badQuery,
      `--${flag} must be an ISO time, milliseconds since the epoch or a duration ago like 15m, got "${text}"`,
      {
        exit: ExitCode.usage,
      },
    );
  }
  return t;
}

/** One entry as a human line. */
export function entryLine(e: {
  seq: number;
  time: number;
  cloud: string;
  node: string;
  account: string;
  type: string;
  msg: string;
}): string {
  return `${e.seq}\t${new Date(e.time).toISOString()}\t${e.cloud}/${e.node}\t${e.account}\t${e.type}\t${e.msg}`;
}

/** Waits until the log verifies from storage with at least `size` entries (replicas store copies after a seal). */
export async function waitStored(d: LogDeployment, size: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await readVerified(d);
    if (r.size >= size) return;
    if (Date.now() > deadline) {
      throw new TcError(
        LogCode.storage,
        `appended, but after ${timeoutMs} ms storage verifies only ${r.size} of ${size} entries`,
        {
          exit: ExitCode.unavailable,
          hint: '`tclouds status` shows whether core replicas can write to the clouds; `tclouds log verify` says what is wrong',
        },
      );
    }
    await new Promise((res) => setTimeout(res, 100));
  }
}
