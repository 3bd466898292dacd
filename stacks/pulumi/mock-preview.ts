/**
 * Runs the real Pulumi program under Pulumi's mock runtime (`pulumi.runtime.setMocks`): no CLI, no plugins, no
 * cloud account. Every resource registration is recorded with its type token, name and inputs; this is what
 * `tclouds plan --target aws|azure|gcp` lists, and what the resource-graph tests inspect.
 *
 * Pulumi keeps its runtime settings in module-global state, so runs are serialized (one at a time per process)
 * and each run installs fresh mocks before any resource is constructed.
 */
import * as pulumi from '@pulumi/pulumi';

/** Pulumi's wire markers (runtime/rpc.js): a secret arrives as `{[SIG]: SECRET, value}`; an unknown as UNKNOWN. */
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';
const UNKNOWN_KEY = '__pulumiUnknown';

export interface MockResource {
  type: string;
  name: string;
  /** Inputs as the engine would receive them; secrets keep Pulumi's secret wrapper (see `isSecretValue`). */
  inputs: Record<string, unknown>;
  custom: boolean;
  /** Resource options the engine would receive (read from the registration: the mocks API does not pass them). */
  options: {
    retainOnDelete: boolean;
    protect: boolean;
    ignoreChanges: string[];
    replaceOnChanges: string[];
    /** The provider id the resource is adopted from (Pulumi `import`), or "". */
    importId: string;
    /** URNs of the resources it depends on (inputs and `dependsOn`). */
    dependencies: string[];
    deleteBeforeReplace: boolean;
  };
}

export interface MockOptions {
  /** What `aws.ec2.getAmi` answers: the "newest" image (tests change it to check that pinned images stay). */
  latestAmi?: string;
}

export interface MockRun {
  resources: MockResource[];
  /** The program's stack outputs, resolved (secrets unwrapped: tests only; never print these). */
  outputs: Record<string, unknown>;
  /** Outputs that were secret, as dotted paths. */
  secretOutputs: string[];
}

let queue: Promise<unknown> = Promise.resolve();

export function runUnderMocks(
  program: () => Promise<Record<string, unknown>>,
  stack = 'preview',
  opts: MockOptions = {},
): Promise<MockRun> {
  const run = queue.then(() => runOnce(program, stack, opts));
  queue = run.catch(() => undefined);
  return run;
}

async function runOnce(
  program: () => Promise<Record<string, unknown>>,
  stack: string,
  opts: MockOptions,
): Promise<MockRun> {
  const resources: MockResource[] = [];
  const optionsOf = new Map<string, MockResource['options']>();
  const fake = fakeOutputs();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs as Record<string, unknown>,
          custom: args.custom ?? true,
          options: optionsOf.get(`${args.type}::${args.name}`) ?? NO_OPTIONS,
        });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...fake(args.type, args.name, args.inputs) } };
      },
      call(args) {
        if (args.token === 'aws:ec2/getAmi:getAmi')
          return { id: opts.latestAmi ?? 'ami-0123456789abcdef0', name: 'ubuntu-noble-24.04' };
        if (args.token.startsWith('azure-native:storage:listStorageAccountServiceSAS'))
          return { serviceSasToken: 'sv=mock' };
        if (args.token.startsWith('azure-native:authorization:getClientConfig')) {
          return {
            subscriptionId: '00000000-0000-0000-0000-000000000000',
            tenantId: 'mock',
            clientId: 'mock',
            objectId: 'mock',
          };
        }
        return args.inputs;
      },
    },
    'tclouds',
    stack,
    false,
  );
  recordOptions(optionsOf);
  // Pulumi records `new Error().stack` for every promise and resource (leak reports, source positions). With
  // source maps on (tsx, vitest) that dominated the run; nothing here reads those stacks, so skip capturing them.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const raw = await program();
    const secretOutputs: string[] = [];
    const outputs = (await resolveDeep(raw, '', secretOutputs)) as Record<string, unknown>;
    // Exported by runtime/settings.js but not in its typings: resolves once every registration has been answered.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    return { resources, outputs, secretOutputs };
  } finally {
    Error.stackTraceLimit = limit;
  }
}

const NO_OPTIONS: MockResource['options'] = {
  retainOnDelete: false,
  protect: false,
  ignoreChanges: [],
  replaceOnChanges: [],
  importId: '',
  dependencies: [],
  deleteBeforeReplace: false,
};

/** A registration request as the mock monitor receives it (the generated protobuf class; only what is read here). */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getRetainondelete?(): boolean;
  getProtect?(): boolean;
  getIgnorechangesList?(): string[];
  getReplaceonchangesList?(): string[];
  getImportid?(): string;
  getDependenciesList?(): string[];
  getDeletebeforereplace?(): boolean;
}

/** Record each registration's options before the mock monitor answers it (newResource gets only the inputs). */
function recordOptions(into: Map<string, MockResource['options']>): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    into.set(`${req.getType()}::${req.getName()}`, {
      retainOnDelete: req.getRetainondelete?.() ?? false,
      protect: req.getProtect?.() ?? false,
      ignoreChanges: req.getIgnorechangesList?.() ?? [],
      replaceOnChanges: req.getReplaceonchangesList?.() ?? [],
      importId: req.getImportid?.() ?? '',
      dependencies: req.getDependenciesList?.() ?? [],
      deleteBeforeReplace: req.getDeletebeforereplace?.() ?? false,
    });
    return register(req, cb);
  };
}

/** Deterministic stand-ins for the outputs a provider would compute (addresses, ids, names). */
function fakeOutputs() {
  let ip = 0;
  const nextIp = () => {
    ip++;
    return ip <= 250 ? `203.0.113.${ip}` : `198.51.${100 + Math.floor(ip / 250)}.${ip % 250}`;
  };
  return (type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {
      name: inputs.name ?? name,
      arn: `arn:aws:mock:::${name}`,
      selfLink: `https://mock.invalid/${name}`,
    };
    if (type === 'aws:ec2/eip:Eip') Object.assign(out, { publicIp: nextIp(), allocationId: `eipalloc-${name}` });
    if (type === 'aws:s3/bucket:Bucket') out.bucket = inputs.bucket ?? name;
    if (type === 'gcp:iam/workloadIdentityPool:WorkloadIdentityPool')
      out.name = `projects/123456789/locations/global/workloadIdentityPools/${inputs.workloadIdentityPoolId}`;
    if (type === 'gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider')
      out.name = `projects/123456789/locations/global/workloadIdentityPools/${inputs.workloadIdentityPoolId}/providers/${inputs.workloadIdentityPoolProviderId}`;
    if (type === 'aws:iam/accessKey:AccessKey') Object.assign(out, { secret: 'mock-secret-access-key' });
    if (type.startsWith('azure-native:network:PublicIPAddress')) out.ipAddress = nextIp();
    if (type === 'azure-native:compute:VirtualMachine' && inputs.identity) {
      out.identity = { ...(inputs.identity as object), principalId: `${name}-principal` };
    }
    if (type === 'gcp:compute/address:Address') out.address = nextIp();
    if (type === 'gcp:serviceaccount/account:Account')
      out.email = `${inputs.accountId ?? name}@mock.iam.gserviceaccount.com`;
    if (type === 'azure-native:managedidentity:UserAssignedIdentity')
      Object.assign(out, { principalId: `${name}-principal`, clientId: `${name}-client`, tenantId: 'mock-tenant' });
    if (type === 'gcp:secretmanager/secret:Secret')
      out.name = `projects/mock-project/secrets/${inputs.secretId ?? name}`;
    if (type === 'gcp:serviceaccount/key:Key') out.privateKey = Buffer.from('{"mock":true}').toString('base64');
    return out;
  };
}

async function resolveDeep(v: unknown, path: string, secrets: string[]): Promise<unknown> {
  if (pulumi.Output.isInstance(v)) {
    const o = v as pulumi.Output<unknown>;
    if (await pulumi.isSecret(o)) secrets.push(path);
    const value = await new Promise<unknown>((resolve) => o.apply((x) => resolve(x)));
    return resolveDeep(value, path, secrets);
  }
  if (v && typeof v === 'object' && typeof (v as Promise<unknown>).then === 'function') {
    return resolveDeep(await (v as Promise<unknown>), path, secrets);
  }
  if (Array.isArray(v)) return Promise.all(v.map((x, i) => resolveDeep(x, `${path}[${i}]`, secrets)));
  if (v && typeof v === 'object' && !(v instanceof pulumi.Resource)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = await resolveDeep(x, path ? `${path}.${k}` : k, secrets);
    return out;
  }
  return v;
}

export function isSecretValue(v: unknown): boolean {
  return !!v && typeof v === 'object' && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Inputs for display: secrets as "[secret]", unknowns as "[unknown]", tags left out (they repeat everywhere). */
export function displayInputs(inputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) {
    if (k === 'tags' || k === '__defaults') continue;
    out[k] = display(v);
  }
  return out;
}

function display(v: unknown): unknown {
  if (isSecretValue(v)) return '[secret]';
  if (Array.isArray(v)) return v.map(display);
  if (v && typeof v === 'object') {
    if ((v as Record<string, unknown>)[UNKNOWN_KEY] === true) return '[unknown]';
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = display(x);
    return out;
  }
  return v;
}
