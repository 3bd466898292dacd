/**
 * `tclouds storage scrub` once its arguments are parsed: open the component's clouds (verification key only:
 * a scrub and its repair copy what the writer signed, they never sign), run the library's scrub
 * (components/storage/scrub.ts) with a progress bar on a TTY, and print the report.
 */
import { openClient, type StorageFlagValues } from '../components/storage/open-client.js';
import { type ScrubReport, scrub } from '../components/storage/scrub.js';
import { table } from '../dashboard/style.js';
import type { CommandIO } from './command-io.js';
import { interruptSignal, progressBar } from './storage-ui.js';

export type ScrubOutput = ScrubReport & { component: string };

export async function storageScrub(
  args: { component: string },
  flags: StorageFlagValues & { repair: boolean },
  io: CommandIO,
): Promise<ScrubOutput> {
  const { signal, dispose } = interruptSignal();
  const bar = progressBar(!io.json, flags.repair ? 'scrub --repair' : 'scrub', 'data units');
  try {
    const { client } = await openClient(args.component, flags, { write: false });
    try {
      const report = await scrub({
        drivers: client.drivers,
        f: client.set.f,
        verifyKey: client.opts.verifyKey,
        repair: flags.repair,
        onProgress: bar.update,
        signal,
      });
      bar.end();
      renderScrub(report, io);
      return { component: args.component, ...report };
    } finally {
      await client.close();
    }
  } finally {
    bar.end();
    dispose();
  }
}

function renderScrub(r: ScrubReport, io: CommandIO): void {
  io.log(
    table(
      ['CLOUD', 'OK', 'MISSING', 'STALE', 'CORRUPT', 'UNREACHABLE', 'REPAIRED'],
      r.clouds.map((c) => [c.cloud, c.ok, c.missing, c.stale, c.corrupt, c.unreachable, c.repaired].map(String)),
    ),
  );
  for (const f of r.findings) {
    const bad = f.clouds.filter((c) => c.state !== 'ok');
    const what = bad.map((c) => `${c.cloud} ${c.state}${c.detail ? ` (${c.detail})` : ''}`).join(', ');
    const after = r.repair
      ? ` -> ${f.stateAfter}${f.repaired.length ? `, repaired ${f.repaired.join(', ')}` : ''}`
      : '';
    io.log(
      `${f.du}${f.version ? ` v${f.version}` : ''}: ${f.state} (${f.copies}/${f.clouds.length} copies): ${what}${after}`,
    );
    for (const x of f.repairFailed) io.log(`  repair of ${x.cloud} failed: ${x.reason}`);
  }
  for (const u of r.unlisted) io.note(`warning: could not list ${u.cloud}: ${u.reason}`);
  const s = r.states;
  io.log(
    `${r.objects} data units: ${s.ok} ok, ${s.degraded} degraded, ${s.atRisk} at risk, ${s.lost} lost` +
      (r.repair ? `; ${r.unresolved} still not ok after repair` : r.unresolved > 0 ? ' (run with --repair)' : ''),
  );
}
