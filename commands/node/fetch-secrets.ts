import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { readBootFile } from '../../runtime/cloud-boot/boot-file.js';
import { fetchSecrets } from '../../runtime/cloud-boot/secrets.js';

export default class NodeFetchSecrets extends TcCommand {
  static override summary = "Fetch a cloud node's spec and keys from its provider's secret store";
  static override description =
    'Run by systemd before every start of a cloud node (ExecStartPre of tclouds-node.service): reads the secrets ' +
    'named in boot.json (spec, node key, admin token, control TLS key and certificate; writer key and bucket ' +
    'credentials for storage gateways) ' +
    "from AWS Secrets Manager, Azure Key Vault or GCP Secret Manager with the VM's own identity (instance role, " +
    'managed identity, service account), and writes each to its file, atomically and with mode 0600. A refusal ' +
    'exits 1 with TC408 and names the permission the identity lacks. Prints which files were written, never a value.';
  static override examples = ['<%= config.bin %> node fetch-secrets --boot /etc/tclouds/boot.json'];
  static override flags = {
    boot: Flags.string({ required: true, description: 'Path of the boot file written by cloud-init' }),
  };

  async run(): Promise<{ node: string; written: { kind: string; path: string }[] }> {
    const { flags } = await this.parse(NodeFetchSecrets);
    const boot = readBootFile(flags.boot);
    const written = await fetchSecrets(boot);
    if (!this.jsonEnabled()) for (const w of written) this.log(`${w.kind} -> ${w.path}`);
    return { node: boot.nodeId, written };
  }
}
