import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { startNode } from '../../runtime/node-host.js';

export default class NodeRun extends TcCommand {
  static override summary = 'Run the role of one deployed node from its spec';
  static override description =
    'Starts the node described by a spec written by `tclouds deploy` (.tclouds/<stack>/nodes/<id>/spec.json): ' +
    'loads its X25519 key, runs its role (e.g. an SMR replica), serves GET /health and GET /metrics on the ' +
    'control port, writes JSON-lines logs to <dataDir>/../node.log and stderr, and stops cleanly on SIGTERM or ' +
    'SIGINT (exit 0). A spec naming an unknown kind or role exits 3. Normally started by the local supervisor ' +
    'or by systemd on cloud hosts, not by hand.';
  static override examples = ['<%= config.bin %> node run --spec .tclouds/demo/nodes/ledger-replica-0/spec.json'];
  static override flags = {
    spec: Flags.string({ required: true, description: 'Path of the node spec (spec.json)' }),
  };

  async run(): Promise<{ id: string; stopped: true }> {
    const { flags } = await this.parse(NodeRun);
    const node = await startNode(flags.spec);
    await new Promise<void>((resolve) => {
      const onSignal = () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    await node.stop();
    return { id: node.spec.id, stopped: true };
  }
}
