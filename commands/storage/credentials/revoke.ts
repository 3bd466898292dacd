import { Args } from '@oclif/core';
import { TcCommand } from '../../../cli/base-command.js';
import { componentArg, storageFlags } from '../../../cli/storage-command.js';
import type { CredentialRecord } from '../../../components/storage/s3/credentials.js';
import { revokeCredential } from '../../../components/storage/s3/issue.js';
import { openCredentialAdmin } from '../../../components/storage/s3/open-admin.js';

export default class StorageCredentialsRevoke extends TcCommand {
  static override summary = 'Revoke an S3 access key: the gateways refuse it within 2 s';
  static override description =
    'Marks the key revoked in the key list (kept, so ls shows when). Requests signed with it are answered ' +
    'InvalidAccessKeyId. Exit 4 when the key does not exist.\n\n' +
    'With --json prints the revoked key {"accessKeyId","buckets","access","created","revoked","label"}.';
  static override examples = ['<%= config.bin %> storage credentials revoke vault TCABCDEFGHIJKLMNOPQR'];
  static override args = {
    component: componentArg,
    accessKeyId: Args.string({ description: 'access key id to revoke', required: true }),
  };
  static override flags = { ...storageFlags };

  async run(): Promise<CredentialRecord> {
    const { args, flags } = await this.parse(StorageCredentialsRevoke);
    const { client } = await openCredentialAdmin(args.component, flags, true);
    try {
      const r = await revokeCredential(client, args.accessKeyId);
      this.log(`revoked ${r.accessKeyId} (${r.revoked})`);
      return r;
    } finally {
      await client.close();
    }
  }
}
