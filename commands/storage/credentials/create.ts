import { Flags } from '@oclif/core';
import { TcCommand } from '../../../cli/base-command.js';
import { componentArg, storageFlags } from '../../../cli/storage-command.js';
import type { CredentialRecord } from '../../../components/storage/s3/credentials.js';
import { clientSetup } from '../../../components/storage/s3/endpoint.js';
import { createCredential } from '../../../components/storage/s3/issue.js';
import { openCredentialAdmin } from '../../../components/storage/s3/open-admin.js';

export interface CredentialsCreateOutput extends CredentialRecord {
  secretAccessKey: string;
  endpoints: string[];
}

export default class StorageCredentialsCreate extends TcCommand {
  static override summary = 'Issue an S3 access key for the storage gateways of a component';
  static override description =
    "Adds an access key to the component's key list (a data unit signed by the writer key, read by every gateway) " +
    'and prints its secret ONCE: the secret is derived from the writer key and never stored. Keys are scoped to ' +
    'buckets (default: the whole component; `<component>.<name>` is the prefix `<name>/`) and read-write or --read-only. ' +
    'Gateways accept the key within 2 s.\n\n' +
    'With --json prints {"accessKeyId","secretAccessKey","buckets","access","created","label","endpoints"}.';
  static override examples = [
    '<%= config.bin %> storage credentials create vault',
    '<%= config.bin %> storage credentials create vault --bucket vault.photos --read-only --label backup-reader',
  ];
  static override args = { component: componentArg };
  static override flags = {
    ...storageFlags,
    bucket: Flags.string({
      description: 'bucket the key may use (repeatable; default: the component)',
      multiple: true,
    }),
    'read-only': Flags.boolean({ description: 'the key may read and list, not write or delete', default: false }),
    label: Flags.string({ description: 'who or what the key is for (shown by ls)' }),
  };

  async run(): Promise<CredentialsCreateOutput> {
    const { args, flags } = await this.parse(StorageCredentialsCreate);
    const { client, signKey, endpoints } = await openCredentialAdmin(args.component, flags, true);
    try {
      const r = await createCredential(client, signKey!, args.component, {
        buckets: flags.bucket ?? [],
        readOnly: flags['read-only'],
        ...(flags.label ? { label: flags.label } : {}),
      });
      this.log(`access key id:     ${r.record.accessKeyId}`);
      this.log(`secret access key: ${r.secretAccessKey}   (shown once: store it now)`);
      this.log(`buckets:           ${r.record.buckets.join(', ')} (${r.record.access})`);
      for (const e of endpoints)
        for (const line of clientSetup(args.component, e, r.record.accessKeyId)) this.log(line);
      if (endpoints.length === 0)
        this.note('note: no gateway is deployed for this component (mediator or appliance mode)');
      return { ...r.record, secretAccessKey: r.secretAccessKey, endpoints };
    } finally {
      await client.close();
    }
  }
}
