/**
 * The node software a cloud deploy ships, on this machine: the artifact (the build that runs the deploy, packed
 * with its locked production dependencies by artifact.ts `packArtifact`) or a published package the user named
 * with `--node-package`. Never a silent default from the environment.
 */
import { ExitCode, TcError } from '../../kernel/errors.js';
import { PulumiCode } from './codes.js';
import type { SoftwareInput } from './program-env.js';

/** Packs the node software into `outDir`: the file, its SHA-256 (lower-case hex) and its size. */
export type ArtifactSource = (opts: { outDir: string }) => Promise<{ path: string; sha256: string; bytes: number }>;

/** Safe characters of an npm package spec handed to the VM (`name@version`, scoped names, tags). */
const PACKAGE_SPEC = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*@[A-Za-z0-9._+-]+$/;

/** `--node-package tclouds@x.y.z`: checked here, before anything is created, since it ends up in user data. */
export function publishedPackage(spec: string): SoftwareInput {
  if (!PACKAGE_SPEC.test(spec)) {
    throw new TcError(PulumiCode.badNodePackage, `--node-package ${JSON.stringify(spec)} is not a package@version`, {
      exit: ExitCode.usage,
      hint: 'name an exact published version, e.g. --node-package tclouds@0.1.0, or leave it out to ship this build',
    });
  }
  return { packageSpec: spec };
}
