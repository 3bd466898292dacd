/**
 * Kept data comes back into the stack: a destroy without `--delete-data` retains the buckets and their writers
 * (they leave the state and stay in the cloud), so the next deploy of the same stack would fail creating a bucket
 * that exists. The program therefore reports the provider id of every retained resource (`kept` output), the
 * destroy records them (`<stackDir>/pulumi/<target>.kept.json`), and the next deploy adopts each one with Pulumi's
 * `import` resource option instead of creating it.
 *
 * Both halves are one Pulumi transformation on the component and cloud parents (program.ts), which every resource
 * of the provider modules sits under: nothing in aws.ts, azure.ts or gcp.ts knows about it.
 */
import * as pulumi from '@pulumi/pulumi';

/**
 * Retained resources that are never adopted: a key whose secret the provider returns only when it is created
 * (an imported AWS access key or GCP service-account key has no secret). The next deploy makes a new one for the
 * adopted writer; the kept one stays valid for whoever holds the credentials file the destroy left.
 */
export const NOT_ADOPTED_TYPES: ReadonlySet<string> = new Set([
  'aws:iam/accessKey:AccessKey',
  'gcp:serviceaccount/key:Key',
]);

/** The key of a resource in the kept record: its type token and logical name (unique in a stack). */
export function keptKey(type: string, name: string): string {
  return `${type}::${name}`;
}

export interface Adoption {
  /** Put on every component and cloud parent: children inherit it. */
  transformation: pulumi.ResourceTransformation;
  /** The provider id of each retained resource, for the `kept` output (read once the program has run). */
  keptIds(): pulumi.Output<Record<string, string>>;
}

/**
 * `adopt`: the kept record of the last destroy (`<type>::<name>` -> id), or nothing. AWS ids of region-aware
 * resources are recorded as `<id>@<region>` (the provider's import form for a region other than its default).
 */
export function adoption(adopt: Record<string, string> = {}): Adoption {
  const retained = new Map<string, pulumi.Resource & { id?: pulumi.Output<string> }>();
  const regionOf = new Map<string, string>();
  const transformation: pulumi.ResourceTransformation = (args) => {
    if (!args.opts.retainOnDelete || !(args.resource instanceof pulumi.CustomResource)) return undefined;
    if (NOT_ADOPTED_TYPES.has(args.type)) return undefined;
    const key = keptKey(args.type, args.name);
    retained.set(key, args.resource);
    const region = (args.props as { region?: unknown }).region;
    if (args.type.startsWith('aws:') && typeof region === 'string') regionOf.set(key, region);
    const id = adopt[key];
    if (!id) return undefined;
    return { props: args.props, opts: pulumi.mergeOptions(args.opts, { import: id }) };
  };
  const keptIds = () => {
    const entries = [...retained].map(([key, r]) => {
      const region = regionOf.get(key);
      const id = pulumi.output(r.id ?? '');
      return id.apply((x) => [key, region && !x.includes('@') ? `${x}@${region}` : x] as const);
    });
    return pulumi.all(entries).apply((xs) => Object.fromEntries(xs.filter(([, id]) => id !== '')));
  };
  return { transformation, keptIds };
}
