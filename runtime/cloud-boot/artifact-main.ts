/**
 * The software installer of a cloud VM: `node fetch-artifact.js --boot /etc/tclouds/boot.json`. Bundled by
 * scripts/bundle-commands.js (esbuild) into one dependency-free file that cloud-init writes next to the boot
 * script, because it runs before any node software is installed: at first boot (boot.sh) and, as root, before
 * every start of the node (the unit's first ExecStartPre). It reads the node's software record from the secret
 * store with the VM's own identity and puts that version in use (software.ts), downloading and checking it only
 * when it is not the one installed. Why not curl in shell: AWS needs a SigV4 signature with the instance role's
 * keys, which the same TypeScript as `tclouds node fetch-secrets` computes (one signer, tested against the S3
 * gateway's verifier); the token providers go through the same code so the three behave alike. Prints one
 * `error CODE message` line and a hint on failure, exit 1: the node does not start, the old install stays.
 */
import { TcError } from '../../kernel/errors.js';
import { readBootFile } from './boot-file.js';
import { readSecret } from './secrets.js';
import { installSoftware, parseSoftwareRecord } from './software.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const bootPath = arg('--boot');
  if (!bootPath) {
    process.stderr.write('usage: fetch-artifact --boot /etc/tclouds/boot.json\n');
    process.exit(2);
  }
  try {
    const boot = readBootFile(bootPath);
    const record = parseSoftwareRecord((await readSecret(boot, 'software')).toString('utf8'));
    const r = await installSoftware(boot, record);
    const was = r.previous ? `, kept ${r.previous.software} for a rollback` : '';
    process.stdout.write(
      r.changed
        ? `installed ${r.current.software} on ${r.current.runtime}${was}\n`
        : `${r.current.software} is installed\n`,
    );
  } catch (e) {
    if (e instanceof TcError) {
      process.stderr.write(`error ${e.code} ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
    } else process.stderr.write(`error ${(e as Error).message}\n`);
    process.exit(1);
  }
}

void main();
