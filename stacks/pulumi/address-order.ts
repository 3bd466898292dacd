/**
 * Every VM waits for the static addresses its spec names: a Pulumi transformation on the component and cloud
 * parents (program.ts) that records each node's address resource as step one creates it and gives each VM a
 * `dependsOn` on the addresses of every node of its component (itself and its peers). The engine then creates
 * those addresses before the VM, whatever provider they belong to, so the spec the VM fetches at boot was
 * rendered from addresses that exist. Dependencies are no input: adding them replaces nothing.
 *
 * A VM that must be replaced (new software, a refreshed image) keeps its addresses: its fixed private address (AWS,
 * GCP), its NIC (Azure) and its static public address belong to one VM at a time, so the old VM goes first
 * (`deleteBeforeReplace`; Pulumi's default, create before delete, fails with the address in use).
 */
import * as pulumi from '@pulumi/pulumi';
import type { Plan } from '../../components/plan-types.js';
import { VM_TYPES } from './events.js';

/** The static address resource of each provider (named `<node>-ip` by the provider modules). */
export const ADDRESS_TYPES: ReadonlySet<string> = new Set([
  'aws:ec2/eip:Eip',
  'azure-native:network:PublicIPAddress',
  'gcp:compute/address:Address',
]);
const ADDRESS_SUFFIX = '-ip';

export function addressOrder(plan: Plan): pulumi.ResourceTransformation {
  const componentOf = new Map<string, string>();
  for (const [name, c] of Object.entries(plan.components)) for (const n of c.nodes) componentOf.set(n.id, name);
  const addresses = new Map<string, pulumi.Resource>();
  return (args) => {
    if (ADDRESS_TYPES.has(args.type) && args.name.endsWith(ADDRESS_SUFFIX)) {
      addresses.set(args.name.slice(0, -ADDRESS_SUFFIX.length), args.resource);
      return undefined;
    }
    const component = VM_TYPES.has(args.type) ? componentOf.get(args.name) : undefined;
    if (!component) return undefined;
    const peers = plan.components[component]!.nodes.flatMap((n) => addresses.get(n.id) ?? []);
    return {
      props: args.props,
      opts: pulumi.mergeOptions(args.opts, {
        deleteBeforeReplace: true,
        ...(peers.length > 0 ? { dependsOn: peers } : {}),
      }),
    };
  };
}
