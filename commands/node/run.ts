import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { rolesOf } from '../../components/kinds.js';
import { ExitCode } from '../../kernel/errors.js';
import { RESTART_EXIT_CODE, startNode } from '../../runtime/node-host.js';

export default class NodeRun extends TcCommand {
  static override summary = 'Run the role of one deployed node from its spec';
  static override description =
    'Starts the node described by a spec written by `tclouds deploy` (.tclouds/<stack>/nodes/<id>/spec.json): ' +
    'loads its X25519 key, runs its role (e.g. an SMR replica), serves GET /health and GET /metrics on the ' +
    'control port, writes JSON-lines logs to <dataDir>/../node.log and stderr, and stops cleanly on SIGTERM or ' +
    'SIGINT (exit 0). A spec naming an unknown kind or role exits 3; a node that finds one of its invariants broken\n' +
    'logs it (TC600) and exits 1 without saving, to be restarted from its durable state. POST /admin/restart on the ' +
    'control port (admin token) stops it cleanly and exits 75, for its supervisor to start it again (rolling ' +
    'updates on the clouds). Normally started by the local supervisor ' +
    'or by systemd on cloud hosts, not by hand.';
  static override examples = ['<%= config.bin %> node run --spec .tclouds/demo/nodes/ledger-replica-0/spec.json'];
  static override flags = {
    spec: Flags.string({ required: true, description: 'Path of the node spec (spec.json)' }),
  };

  async run(): Promise<{ id: string; stopped: true }> {
    const { flags } = await this.parse(NodeRun);
    const node = await startNode(flags.spec, {
      roles: rolesOf,
      // Loaded only by nodes whose spec names an audit log (the host asks only then).
      audit: async (spec, log, metrics) =>
        (await import('../../components/log/audit-tap.js')).startAuditTap(spec, log, metrics),
    });
    let onSignal = () => {};
    const stopAsked = new Promise<'stop'>((resolve) => {
      onSignal = () => resolve('stop');
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    const restart = node.restartRequested.then(() => 'restart' as const);
    const why = await Promise.race([stopAsked, node.failure, restart]);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (why === 'restart') {
      // A rolling update asked for it: stop cleanly (the role saves its state), then exit non-zero so the
      // supervisor (systemd on a VM) starts the node again with the spec it reads at start.
      await node.stop();
      this.exit(RESTART_EXIT_CODE);
    }
    if (why !== 'stop') {
      // A broken invariant (logged by the host): exit without the clean-stop save, as a crash would, so the
      // supervisor restarts the node from its durable state.
      await node.abandon();
      this.exit(ExitCode.failure);
    }
    await node.stop();
    return { id: node.spec.id, stopped: true };
  }
}
