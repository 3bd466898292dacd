/**
 * The first-boot fetcher: `node fetch-artifact.js --boot /etc/tclouds/boot.json --out FILE`. Bundled by
 * scripts/bundle-commands.js (esbuild) into one dependency-free file that cloud-init writes next to the boot
 * script, because the node software it downloads is not installed yet. Why not curl in shell: AWS needs a SigV4
 * signature with the instance role's keys, which the same TypeScript as `tclouds node fetch-secrets` computes
 * (one signer, tested against the S3 gateway's verifier); the token providers go through the same code so the
 * three behave alike. Prints one `error CODE message` line and a hint on failure, exit 1.
 */
import { TcError } from '../../kernel/errors.js';
import { fetchArtifact } from './artifact.js';
import { readBootFile } from './boot-file.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const bootPath = arg('--boot');
  const out = arg('--out');
  if (!bootPath || !out) {
    process.stderr.write('usage: fetch-artifact --boot /etc/tclouds/boot.json --out FILE\n');
    process.exit(2);
  }
  try {
    const r = await fetchArtifact(readBootFile(bootPath), out);
    process.stdout.write(`fetched ${r.bytes} bytes, sha256 ${r.sha256}\n`);
  } catch (e) {
    if (e instanceof TcError) {
      process.stderr.write(`error ${e.code} ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
    } else process.stderr.write(`error ${(e as Error).message}\n`);
    process.exit(1);
  }
}

void main();
