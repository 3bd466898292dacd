import { Flags } from '@oclif/core';
import { NdjsonCommand } from '../cli/ndjson-command.js';
import { OUTPUT_FORMATS, type OutputFormat, outputsEnv, renderEnv } from '../cli/outputs-env.js';
import { deployedTarget, interruptible, loadPlan, parseTarget, realizeContext } from '../cli/session.js';
import { topologyFileArg, topologyFileFlag, topologyFileOf } from '../cli/topology-file.js';
import { clientSetup, s3Endpoints } from '../components/storage/s3/endpoint.js';
import { style, table } from '../dashboard/style.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import type { DeploymentOutputs } from '../runtime/node-spec.js';
import { DeployCode } from '../stacks/codes.js';
import { loadRealizer, TARGETS } from '../stacks/realizer.js';
import { DEFAULT_TOPOLOGY_FILE, displayName } from '../topology/load.js';

export default class Outputs extends NdjsonCommand {
  static override summary = 'Show what a deployment left for clients: endpoints, public keys, buckets';
  static override description =
    'Prints the deployment outputs (runtime/node-spec.ts DeploymentOutputs): per component its nodes (address, ' +
    'ports, control port, cloud, fault domain, public key), buckets and the client (TIA) configuration; for storage ' +
    'gateways, the S3 endpoint and how to configure the AWS CLI and SDKs for it. Never ' +
    'prints a private key (only key file paths).\n\n' +
    'With --json (or --format json) prints the DeploymentOutputs object on one line. --format env prints ' +
    'KEY=value lines for $GITHUB_ENV (TCLOUDS_STACK, TCLOUDS_<COMPONENT>_KIND, TCLOUDS_<COMPONENT>_<ROLE>_<PORT> ' +
    'as host:port lists, TCLOUDS_<COMPONENT>_CLIENT_KEY_FILE, ...); --format dotenv the same quoted for a .env file. ' +
    'Exit 4 when the stack is not deployed.';
  static override examples = [
    '<%= config.bin %> outputs',
    '<%= config.bin %> outputs --json | jq .components.ledger.nodes',
    '<%= config.bin %> outputs --format env >> "$GITHUB_ENV"',
    '<%= config.bin %> outputs --format dotenv > .env',
  ];
  static override args = {
    file: topologyFileArg,
  };
  static override flags = {
    file: topologyFileFlag,
    target: Flags.string({ description: 'which deployment', options: [...TARGETS], default: 'local' }),
    backend: Flags.string({
      description:
        'Pulumi state backend the deploy used (cloud targets): s3://, azblob://, gs:// or file://; default the stack directory (env TCLOUDS_PULUMI_BACKEND)',
    }),
    format: Flags.string({ description: 'how to print them', options: [...OUTPUT_FORMATS], default: 'text' }),
  };

  async run(): Promise<DeploymentOutputs> {
    const { args, flags } = await this.parse(Outputs);
    const file = topologyFileOf(args.file, flags.file);
    const lp = await loadPlan(file);
    const target = deployedTarget(lp.plan, parseTarget(flags.target));
    const realizer = await loadRealizer(target);
    const interrupt = interruptible();
    let outputs: DeploymentOutputs | null;
    try {
      outputs = await realizer.outputs(realizeContext(lp, interrupt.signal, () => {}, flags.backend));
    } finally {
      interrupt.dispose();
    }
    if (!outputs) {
      throw new TcError(
        DeployCode.noDeployment,
        `stack ${lp.plan.stack} of ${displayName(lp.loaded.file)} is not deployed on ${target}`,
        {
          exit: ExitCode.notFound,
          hint: `deploy it first: tclouds deploy ${file === DEFAULT_TOPOLOGY_FILE ? '' : `-f ${file} `}--target ${target}`,
        },
      );
    }
    const format = flags.format as OutputFormat;
    if (!this.jsonEnabled() && format !== 'text') {
      const text = format === 'json' ? JSON.stringify(outputs) : renderEnv(outputsEnv(outputs), format);
      process.stdout.write(`${text}\n`);
      return outputs;
    }
    const out = process.stdout;
    this.log(
      `${style.bold(`stack ${outputs.stack}`, out)} on ${outputs.target}, plan ${outputs.planDigest.slice(0, 12)}, deployed ${outputs.deployedAt}`,
    );
    for (const [name, c] of Object.entries(outputs.components)) {
      this.log('');
      this.log(`${style.bold(name, out)} (${c.kind})`);
      if (c.nodes.length > 0) {
        this.log(
          table(
            ['NODE', 'ROLE', 'CLOUD', 'DOMAIN', 'ADDRESS', 'PORTS', 'CONTROL'],
            c.nodes.map((n) => [
              n.id,
              n.role,
              n.cloud,
              String(n.domain),
              n.host,
              Object.entries(n.ports)
                .map(([k, v]) => `${k}:${v}`)
                .join(' '),
              String(n.controlPort),
            ]),
          ),
        );
      }
      for (const b of c.buckets) this.log(`  bucket ${b.cloud}: ${b.name}${b.path ? ` (${b.path})` : ''}`);
      for (const [id, k] of Object.entries(c.clientKeys)) this.log(`  key ${id}: ${k.keyFile}`);
      // Storage gateways speak S3: say where, and how to point the AWS CLI and SDKs at them.
      for (const endpoint of s3Endpoints(outputs, name))
        for (const line of clientSetup(name, endpoint)) this.log(`  ${line}`);
    }
    return outputs;
  }
}
