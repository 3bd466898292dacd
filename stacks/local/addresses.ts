/**
 * Loopback addresses of local nodes: 127.A.B.C, derived from the stack, the cloud, the fault domain and
 * the node, so every node of a stack gets its own address and the same plan always gets the same addresses.
 *
 * - A = 1 + hash(stack) mod 254: different stacks on one machine (parallel test suites, several checkouts)
 *   almost always land in different /16s, so they rarely fight for ports;
 * - B = cloudIndex * 16 + fault domain mod 16 (at most 16 clouds; domains past 16 share a block with a lower one);
 * - C = 1 + ordinal of the node within (cloud, domain), 1..254.
 * So, for the first 16 fault domains of a cloud, "every VM of one PM" is one 127.A.B.0/24. On Linux the whole 127.0.0.0/8 is routed to `lo`; macOS needs
 * aliases (`ifconfig lo0 alias`), see README.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { Plan } from '../../components/plan-types.js';
import { TcError } from '../../kernel/errors.js';
import { DeployCode } from '../codes.js';

export function stackSlot(stack: string): number {
  return createHash('sha256').update(stack).digest().readUInt32BE(0) % 254;
}

/** node id -> loopback address, for every node of the plan. */
export function assignAddresses(plan: Plan): Map<string, string> {
  const cloudIndex = new Map(Object.keys(plan.clouds).map((c, i) => [c, i]));
  const slot = stackSlot(plan.stack);
  const ordinal = new Map<string, number>();
  const out = new Map<string, string>();
  for (const component of Object.values(plan.components)) {
    for (const n of component.nodes) {
      const ci = cloudIndex.get(n.cloud) ?? 0;
      if (ci >= 16) {
        throw new TcError(
          DeployCode.tooManyNodes,
          `the local target gives addresses to at most 16 clouds; cloud "${n.cloud}" is number ${ci + 1}`,
          {
            hint: 'split the topology into several stacks, or deploy it to a cloud target',
          },
        );
      }
      // Fault domains beyond 16 share a /24 with a lower one (domain mod 16); nodes stay unique through C.
      const b = ci * 16 + (n.domain % 16);
      const key = `${n.cloud}/${b}`;
      const k = (ordinal.get(key) ?? 0) + 1;
      ordinal.set(key, k);
      if (k > 254) {
        throw new TcError(
          DeployCode.tooManyNodes,
          `more than 254 nodes share the address block 127.${1 + slot}.${b}.0/24 (cloud "${n.cloud}")`,
          {
            hint: 'declare more `hosts` for the cloud, or deploy to a cloud target',
          },
        );
      }
      out.set(n.id, `127.${1 + slot}.${b}.${k}`);
    }
  }
  return out;
}

/**
 * Resolves when `host:port` can be bound; otherwise a TC304 error naming what is in the way. A port held by a
 * process that is just exiting (e.g. a node this deploy has just stopped) is retried for up to `graceMs`.
 */
export async function checkPortFree(host: string, port: number, what: string, graceMs = 2000): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    try {
      return await tryBind(host, port, what);
    } catch (e) {
      if (!(e instanceof TcError) || e.code !== DeployCode.portBusy || Date.now() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function tryBind(host: string, port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      const busy = e.code === 'EADDRINUSE';
      reject(
        new TcError(
          busy ? DeployCode.portBusy : DeployCode.localIo,
          busy
            ? `${what}: port ${port} on ${host} is already in use`
            : `${what}: cannot bind ${host}:${port} (${e.code ?? e.message})`,
          {
            hint: busy
              ? `another process listens there (find it with \`ss -ltnp 'sport = :${port}'\`); stop it or destroy the other stack`
              : `on macOS add the loopback alias first: sudo ifconfig lo0 alias ${host}`,
          },
        ),
      );
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
