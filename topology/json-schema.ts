/** JSON Schema of tclouds.yaml, generated from the zod schema so that the format is written down once. */
import { z } from 'zod';
import { TopologySchema } from './schema.js';

export const SCHEMA_ID = 'https://tclouds.dev/schema/tclouds.schema.json';

export function topologyJsonSchema(): Record<string, unknown> {
  // io: 'input' describes what a person may write (defaulted fields are optional), not the parsed result.
  const schema = z.toJSONSchema(TopologySchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...schema, $id: SCHEMA_ID, title: 'tclouds topology (tclouds.yaml)' };
}
