import { Args, Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { storageFlags } from '../../cli/storage-command.js';
import { defaultKeyFiles, fingerprint, generateWriterKeys } from '../../components/storage/keys.js';
import { resolveStorage } from '../../components/storage/resolve.js';

export interface KeygenResult {
  component: string;
  privateKey: string;
  publicKey: string;
  fingerprint: string;
}

export default class StorageKeygen extends TcCommand {
  static override summary = 'Create the writer signing key and the readers verification key of a storage component';
  static override description =
    'DepSky writers sign every version (Ed25519); readers verify with the public key only. Writes ' +
    '`.tclouds/<stack>/keys/storage-<component>-writer.key` (private, 0600) and `.pub` (0600) unless --out is given. ' +
    'Refuses to overwrite existing keys (data written with the old key would become unreadable) unless --force.\n\n' +
    'With --json prints {"component","privateKey","publicKey","fingerprint"} (paths and a key fingerprint; never key bytes).';
  static override examples = [
    '<%= config.bin %> storage keygen vault',
    '<%= config.bin %> storage keygen vault --out ~/keys/vault-writer',
  ];
  static override args = { component: Args.string({ description: 'storage component', required: true }) };
  static override flags = {
    file: storageFlags.file,
    out: Flags.string({ description: 'path prefix of the key files (<out>.key, <out>.pub)' }),
    force: Flags.boolean({ description: 'replace existing key files', default: false }),
  };

  async run(): Promise<KeygenResult> {
    const { args, flags } = await this.parse(StorageKeygen);
    let files: { privateKey: string; publicKey: string };
    if (flags.out) files = { privateKey: `${flags.out}.key`, publicKey: `${flags.out}.pub` };
    else {
      const r = await resolveStorage(args.component, flags.file);
      files = defaultKeyFiles(r.stackDir, args.component);
    }
    const { publicKey } = await generateWriterKeys(files, flags.force);
    const result = { component: args.component, ...files, fingerprint: fingerprint(publicKey) };
    this.log(`writer key   ${files.privateKey} (0600, keep it secret; writers only)`);
    this.log(`reader key   ${files.publicKey} (give it to readers)`);
    this.log(`fingerprint  ${result.fingerprint}`);
    return result;
  }
}
