import { TcCommand } from '../cli/base-command.js';
import { topologyJsonSchema } from '../topology/json-schema.js';

export default class Schema extends TcCommand {
  static override summary = 'Print the JSON Schema of tclouds.yaml';
  static override description =
    'The schema is generated from the same zod schema that `tclouds validate` uses. Point your editor at it ' +
    '(the templates written by `tclouds init` start with a `# yaml-language-server: $schema=...` comment) to get completion and checks while you type.';
  static override examples = [
    '<%= config.bin %> schema > tclouds.schema.json',
    '<%= config.bin %> schema --json | jq .properties.components',
  ];

  async run(): Promise<Record<string, unknown>> {
    await this.parse(Schema);
    const schema = topologyJsonSchema();
    this.log(JSON.stringify(schema, null, 2));
    return schema;
  }
}
