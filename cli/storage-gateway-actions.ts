/**
 * `storage put|get|ls|rm --via-gateway`: the same commands through a deployed gateway of the component (mediator or
 * appliance mode) instead of straight to the clouds. The gateway verified the bytes against the clouds; its answers
 * are authenticated (MAC) with the component's client key (components/storage/via-gateway.ts).
 */
import { promises as fs } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import type { GetInfo, PutResult } from '../components/storage/client.js';
import { openViaGateway } from '../components/storage/via-gateway.js';
import { writeFileAtomic } from '../kernel/atomic-file.js';
import { formatBytes } from '../kernel/format.js';
import type { CommandIO } from './command-io.js';

export async function gatewayPut(component: string, topology: string, du: string, file: string, io: CommandIO) {
  const gw = await openViaGateway(component, topology);
  const data = file === '-' ? await buffer(process.stdin) : await fs.readFile(file);
  const r = await gw.call(async (c) => (await c.put(du, data)) as PutResult);
  io.log(`stored ${du} version ${r.version} (${r.protocol}, ${formatBytes(r.size)}) via ${r.gateway}`);
  return r;
}

export async function gatewayGet(
  component: string,
  topology: string,
  du: string,
  output: string | undefined,
  io: CommandIO,
): Promise<GetInfo & { output: string; gateway: string }> {
  const gw = await openViaGateway(component, topology);
  const r = await gw.call(async (c) => c.get(du));
  if (output) await writeFileAtomic(output, r.bytes);
  else await new Promise<void>((res, rej) => process.stdout.write(r.bytes, (e) => (e ? rej(e) : res())));
  if (output)
    io.log(`read ${du} version ${r.version} (${formatBytes(r.bytes.length)}) via ${r.gateway} into ${output}`);
  const info = await gw.call(async (c) => c.stat(du));
  return {
    du,
    version: r.version,
    protocol: info.protocol,
    size: r.bytes.length,
    from: [],
    rejected: [],
    dataGets: 0,
    output: output ?? '-',
    gateway: r.gateway,
  };
}

export async function gatewayLs(component: string, topology: string, io: CommandIO) {
  const gw = await openViaGateway(component, topology);
  const r = await gw.call(async (c) => c.ls());
  for (const name of r.dataUnits) io.log(name);
  return { component, dataUnits: r.dataUnits.map((name) => ({ name })), incomplete: [] as string[] };
}

export async function gatewayRm(component: string, topology: string, du: string, io: CommandIO) {
  const gw = await openViaGateway(component, topology);
  const r = await gw.call(async (c) => ({ du, incomplete: [] as string[], ...(await c.rm(du)) }));
  io.log(`removed ${r.du} (${r.removedFiles} files) via ${r.gateway}`);
  return r;
}
