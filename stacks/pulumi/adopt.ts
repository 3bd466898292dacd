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
 * Retained resources that are never adopted as themselves: a key whose secret the provider returns only when it is
 * created (an imported AWS access key has no secret). The next deploy makes a new one for the adopted writer, and
 * adopts the kept one beside it as `<name>-previous`, managed but not retained: it stays valid for whoever holds
 * the credentials file the destroy left until the next destroy deletes it. So a writer never holds more than two
 * keys, however many keep-destroy cycles it goes through (AWS allows two access keys per user: without this the
 * third redeploy failed). The value is the property naming the key's owner, the one input the import must match.
 * (GCP buckets have no writer keys: gateways there use their VM's service account.)
 */
export const NOT_ADOPTED_TYPES: ReadonlyMap<string, string> = new Map([['aws:iam/accessKey:AccessKey', 'user']]);

/** A kept key adopted by its provider type token (no provider SDK needed here: the token says which resource). */
class PreviousKey extends pulumi.CustomResource {
  constructor(type: string, name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
    super(type, name, props, opts);
  }
}

/** The logical name of a kept key adopted beside its writer's new one. */
export function previousKeyName(name: string): string {
  return `${name}-previous`;
}

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
    const key = keptKey(args.type, args.name);
    retained.set(key, args.resource);
    const owner = NOT_ADOPTED_TYPES.get(args.type);
    if (owner !== undefined) {
      // Not retained, so no transformation of its own (the first test above): it cannot recurse.
      const kept = adopt[key];
      if (kept)
        new PreviousKey(
          args.type,
          previousKeyName(args.name),
          { [owner]: (args.props as Record<string, unknown>)[owner] },
          { parent: args.opts.parent, provider: args.opts.provider, import: kept },
        );
      return undefined;
    }
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
