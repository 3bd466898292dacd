import { Flags } from '@oclif/core';
import { TcCommand } from '../cli/base-command.js';
import { canPrompt, Prompter } from '../cli/prompt.js';
import { style } from '../dashboard/style.js';
import { type InitResult, initTopology } from '../topology/init.js';
import { DEFAULT_TOPOLOGY_FILE } from '../topology/load.js';
import { MODES, type Mode, PROVIDERS } from '../topology/schema.js';
import { checkStackName, parseProviders } from '../topology/templates.js';

export default class Init extends TcCommand {
  static override summary = 'Write a commented, valid tclouds.yaml for a deployment mode and set of providers';
  static override description =
    'Writes the topology from templates/<mode>.yaml: a DepSky storage component "vault" (f=1, 4 clouds) and a ' +
    'Byzantine SMR component "ledger" (f=1, key-value service), with log, mapreduce and workflow examples ' +
    'commented out. With fewer providers than the components need clouds, several clouds of one provider are ' +
    'declared (e.g. --clouds local gives local-1..local-4). Also writes tclouds.schema.json beside the file so ' +
    'editors complete and check it.\n\n' +
    'Missing flags are asked for when stdin and stdout are a terminal; otherwise the defaults are used ' +
    '(mode client-resident, clouds local, name demo). An existing file is never overwritten without --force.';
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --mode client-resident --clouds local --name quickstart',
    '<%= config.bin %> init --mode mediator --clouds aws,azure,gcp,local --name prod --file prod.yaml',
  ];
  static override flags = {
    mode: Flags.string({ description: 'deployment mode', options: [...MODES] }),
    clouds: Flags.string({
      description: `comma-separated providers to use: ${PROVIDERS.join(', ')}`,
    }),
    name: Flags.string({ description: 'stack name, [a-z][a-z0-9-]{0,39}' }),
    file: Flags.string({ description: 'where to write the topology', default: DEFAULT_TOPOLOGY_FILE }),
    force: Flags.boolean({ description: 'overwrite an existing file', default: false }),
  };

  async run(): Promise<InitResult> {
    const { flags } = await this.parse(Init);
    const interactive = canPrompt() && !this.jsonEnabled();
    let mode = flags.mode as Mode | undefined;
    let clouds = flags.clouds;
    let name = flags.name;
    if (interactive && (mode === undefined || clouds === undefined || name === undefined)) {
      const prompter = await Prompter.open();
      try {
        mode ??= await prompter.choose('Deployment mode', MODES, 'client-resident');
        clouds ??= await prompter.ask('Providers (comma-separated: aws, azure, gcp, local)', 'local', (v) => {
          parseProviders(v);
        });
        name ??= await prompter.ask('Stack name', 'demo', (v) => {
          checkStackName(v);
        });
      } finally {
        prompter.close();
      }
    }
    const result = await initTopology({
      file: flags.file,
      mode: mode ?? 'client-resident',
      providers: parseProviders(clouds ?? 'local'),
      name: name ?? 'demo',
      force: flags.force,
    });
    this.log(`${style.green('wrote', process.stdout)} ${result.file} (${result.mode} mode, stack ${result.name})`);
    this.log(
      `  clouds: ${result.clouds.map((c) => `${c.name} (${c.provider}${c.region ? ` ${c.region}` : ''})`).join(', ')}`,
    );
    this.log(`  components: ${result.components.join(', ')}`);
    this.log(`${style.green('wrote', process.stdout)} ${result.schemaFile} (JSON Schema for editors)`);
    if (result.ignoredProviders.length > 0) {
      this.note(
        `note: native mode runs on one provider; using ${result.clouds[0]?.provider}, not ${result.ignoredProviders.join(', ')}`,
      );
    }
    for (const w of result.warnings) this.note(`note: ${w.code} ${w.message}`);
    this.log(
      `next: ${style.bold(`tclouds validate${result.file === DEFAULT_TOPOLOGY_FILE ? '' : ` ${result.file}`}`, process.stdout)}`,
    );
    return result;
  }
}
