/**
 * The Node runtime a cloud VM installs: one pinned LTS release, downloaded as the official linux tarball and
 * checked against its SHA-256 before anything of it runs. A new Node release is a reviewed change of these
 * constants, never whatever a setup script serves today.
 *
 * The checksums are the lines for these files in https://nodejs.org/dist/v24.11.1/SHASUMS256.txt. They could
 * not be downloaded from nodejs.org on the machine that wrote this; they were taken from several unrelated
 * public build scripts that pin the same file and agree to the digit. Check them against the signed
 * SHASUMS256.txt.asc (Node's release keys) when bumping the version.
 */
import type { NodeRuntimeRef } from './boot-refs.js';

export const NODE_RUNTIME_VERSION = 'v24.11.1';
/** SHA-256 of node-v24.11.1-linux-x64.tar.xz. */
export const NODE_LINUX_X64_SHA256 = '60e3b0a8500819514aca603487c254298cd776de0698d3cd08f11dba5b8289a8';
/** SHA-256 of node-v24.11.1-linux-arm64.tar.xz. */
export const NODE_LINUX_ARM64_SHA256 = '6b0863fb9f627bf4a6c5948dce1de4398174a2e05dbe717503d828e211ca01f0';

export type NodeArch = 'x64' | 'arm64';

/** The official tarball of the pinned release for a VM architecture. */
export function pinnedNodeRuntime(arch: NodeArch = 'x64'): NodeRuntimeRef {
  const file = `node-${NODE_RUNTIME_VERSION}-linux-${arch}.tar.xz`;
  return {
    version: NODE_RUNTIME_VERSION,
    url: `https://nodejs.org/dist/${NODE_RUNTIME_VERSION}/${file}`,
    sha256: arch === 'x64' ? NODE_LINUX_X64_SHA256 : NODE_LINUX_ARM64_SHA256,
  };
}
