import { TcCommand } from '../../../cli/base-command.js';
import { componentArg, storageFlags } from '../../../cli/storage-command.js';
import type { CredentialRecord } from '../../../components/storage/s3/credentials.js';
import { readStore } from '../../../components/storage/s3/issue.js';
import { openCredentialAdmin } from '../../../components/storage/s3/open-admin.js';
import { table } from '../../../dashboard/style.js';

export default class StorageCredentialsLs extends TcCommand {
  static override summary = 'List the S3 access keys of a component (never their secrets)';
  static override description =
    'Reads the key list the gateways use. Revoked keys are listed with the time of revocation.\n\n' +
    'With --json prints {"component","keys":[{"accessKeyId","buckets","access","created","revoked","label"}]}.';
  static override examples = [
    '<%= config.bin %> storage credentials ls vault',
    '<%= config.bin %> storage credentials ls vault --json',
  ];
  static override args = { component: componentArg };
  static override flags = { ...storageFlags };

  async run(): Promise<{ component: string; keys: CredentialRecord[] }> {
    const { args, flags } = await this.parse(StorageCredentialsLs);
    const { client } = await openCredentialAdmin(args.component, flags, false);
    try {
      const { keys } = await readStore(client);
      this.log(
        table(
          ['ACCESS KEY', 'BUCKETS', 'ACCESS', 'CREATED', 'REVOKED', 'LABEL'],
          keys.map((k) => [k.accessKeyId, k.buckets.join(','), k.access, k.created, k.revoked ?? '-', k.label ?? '']),
        ),
      );
      return { component: args.component, keys };
    } finally {
      await client.close();
    }
  }
}
