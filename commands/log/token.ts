import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { deploymentOf, logComponentArg, logFlags } from '../../cli/log-command.js';
import { parseDuration } from '../../cli/storage-command.js';
import { LogCode } from '../../components/log/codes.js';
import { consoleTokenKeyFile } from '../../components/log/deployment.js';
import { ACTORS, type Actor, type Grant } from '../../components/log/protocol/access.js';
import { issueToken } from '../../components/log/tokens.js';
import { readSigningKey } from '../../components/storage/keys.js';
import { ExitCode, TcError } from '../../kernel/errors.js';

export interface TokenOutput {
  component: string;
  token: string;
  grant: Grant;
  expiresAt: string;
  console: string | null;
}

export default class LogToken extends TcCommand {
  static override summary = "Issue a console token (a signed JWT) for one of the log's actors";
  static override description =
    "Signed with the console's Ed25519 token key from the deployment (EdDSA JWT, RFC 7519), bound to this log, " +
    'with an expiry. Actors: producer (appends; its entries carry --cloud and --node from the token), user (reads ' +
    'the entries of its own account), admin (reads the entries of the --clouds it administers), reviewer (reads ' +
    'everything its policy allows). Policies: --clouds (originating clouds) and --jurisdiction (only entries from ' +
    'clouds of that jurisdiction, the first part of the cloud\'s region: eu-west-1 is "eu").\n\n' +
    'Use it as `Authorization: Bearer <token>` against the console. With --json prints {"component","token","grant","expiresAt","console"}.';
  static override examples = [
    '<%= config.bin %> log token audit --actor reviewer --sub carol --jurisdiction eu --ttl 8h',
    '<%= config.bin %> log token audit --actor producer --sub billing --cloud a --node web-1 --ttl 30d',
    '<%= config.bin %> log token audit --actor admin --sub ops --clouds a,b --json',
  ];
  static override args = { component: logComponentArg };
  static override flags = {
    ...logFlags,
    actor: Flags.string({ required: true, options: [...ACTORS], description: 'who the token is for' }),
    sub: Flags.string({ required: true, description: 'account or name of the holder' }),
    cloud: Flags.string({ description: 'producer: the cloud its entries come from' }),
    node: Flags.string({ description: 'producer: the node its entries come from' }),
    clouds: Flags.string({ description: 'policy: only entries from these clouds (comma-separated)' }),
    jurisdiction: Flags.string({ description: 'policy: only entries from clouds of this jurisdiction' }),
    ttl: Flags.string({ default: '1h', description: 'lifetime: 90s, 30m, 8h (at most 30 days)' }),
  };

  async run(): Promise<TokenOutput> {
    const { args, flags } = await this.parse(LogToken);
    const d = await deploymentOf(flags, args.component);
    const grant: Grant = {
      sub: flags.sub,
      actor: flags.actor as Actor,
      ...(flags.cloud ? { cloud: flags.cloud } : {}),
      ...(flags.node ? { node: flags.node } : {}),
      ...(flags.clouds ? { clouds: flags.clouds.split(',').map((c) => c.trim()) } : {}),
      ...(flags.jurisdiction ? { jurisdiction: flags.jurisdiction } : {}),
    };
    if (grant.actor === 'producer' && (!grant.cloud || !grant.node)) {
      throw new TcError(LogCode.unauthorized, 'a producer token needs --cloud and --node', { exit: ExitCode.usage });
    }
    const ttl = Math.round(parseDuration(flags.ttl, 'ttl') / 1000);
    const key = await readSigningKey(consoleTokenKeyFile(d));
    const now = Date.now();
    const token = await issueToken(key, d.log, grant, ttl, now);
    const c = d.comp.nodes.find((n) => n.role === 'console');
    const consoleUrl = c ? `http://${c.host}:${c.ports.http}` : null;
    this.log(token);
    return {
      component: args.component,
      token,
      grant,
      expiresAt: new Date(now + ttl * 1000).toISOString(),
      console: consoleUrl,
    };
  }
}
