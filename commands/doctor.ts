import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { TcCommand } from '../cli/base-command.js';
import {
  DOCTOR_TARGETS,
  type DoctorInput,
  type DoctorReport,
  type DoctorTarget,
  doctorLines,
  runDoctor,
} from '../cli/doctor.js';
import { loadPlan } from '../cli/session.js';
import { TOPOLOGY_FILE_ENV } from '../cli/topology-file.js';
import { style } from '../dashboard/style.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import { DeployCode } from '../stacks/codes.js';
import { DEFAULT_TOPOLOGY_FILE } from '../topology/load.js';

export default class Doctor extends TcCommand {
  static override summary = 'Check what this machine has for a deploy: Node, pulumi, credentials, ports, disk';
  static override description =
    'One line per check, ok / warn / fail / skip, with what to do when it is not ok. Nothing beyond this machine is ' +
    'contacted: credentials are looked for where the cloud SDKs look (environment variables, the aws / az / gcloud ' +
    'files under your home directory), and only where they were found is printed, never a value.\n\n' +
    'Checks: node (the version against package.json engines); pulumi (the CLI and its version; cloud targets); ' +
    'aws.credentials + aws.region, azure.credentials + azure.subscription, gcp.credentials + gcp.project; ' +
    'loopback + ports (local target: the 127.x addresses and ports the topology would use, which needs a topology ' +
    'via -f or TCLOUDS_FILE or ./tclouds.yaml, else skipped); disk (free space where the stack lives); ' +
    'state-backend + secrets (cloud targets: the Pulumi file backend is writable, the passphrase readable; remote ' +
    'backends are not contacted).\n' +
    'Without --target the local target is checked and the three providers are listed for information.\n\n' +
    'With --json prints one document {"target","ok","checks":[{"id","status","needed","message","fix"}],' +
    '"counts":{"ok","warn","fail","skip"}}.\n' +
    'Exit codes: 0 every check the target needs passed (warnings allowed); 1 one failed (TC322); 2 usage; ' +
    '3 invalid topology.';
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --target aws',
    '<%= config.bin %> doctor -f prod.yaml --target local',
    '<%= config.bin %> doctor --target gcp --json | jq \'.checks[] | select(.status == "fail")\'',
  ];
  static override flags = {
    target: Flags.string({
      description: 'the target to check for (default: local, listing every provider for information)',
      options: [...DOCTOR_TARGETS],
    }),
    file: Flags.string({
      char: 'f',
      env: TOPOLOGY_FILE_ENV,
      description: `topology whose ports and regions to check (default ./${DEFAULT_TOPOLOGY_FILE} when it exists); env ${TOPOLOGY_FILE_ENV}`,
    }),
    backend: Flags.string({ description: 'the Pulumi state backend a cloud deploy would use (see deploy --help)' }),
  };

  async run(): Promise<DoctorReport> {
    const { flags } = await this.parse(Doctor);
    const file = flags.file ?? (existsSync(DEFAULT_TOPOLOGY_FILE) ? DEFAULT_TOPOLOGY_FILE : undefined);
    let topology: DoctorInput['topology'];
    if (file === undefined) {
      topology = {
        note: `no topology (-f FILE, ${TOPOLOGY_FILE_ENV} or ./${DEFAULT_TOPOLOGY_FILE}): the ports are checked by deploy`,
        stackDir: path.resolve('.tclouds', '<stack>'),
      };
    } else {
      const lp = await loadPlan(file);
      topology = { plan: lp.plan, stackDir: lp.stackDir, file: lp.loaded.file };
    }
    const input: DoctorInput = {
      target: flags.target as DoctorTarget | undefined,
      env: process.env,
      home: homedir(),
      topology,
    };
    if (flags.backend !== undefined) input.backend = flags.backend;
    const report = await runDoctor(input);
    if (this.jsonEnabled()) {
      if (!report.ok) this.finish(report, ExitCode.failure);
      return report;
    }
    const out = process.stdout;
    const paint = { ok: style.green, warn: style.yellow, fail: style.red, skip: style.dim } as const;
    for (const line of doctorLines(report)) {
      const status = line.slice(0, 4).trim() as keyof typeof paint;
      this.log(status in paint ? `${paint[status](line.slice(0, 4), out)}${line.slice(4)}` : line);
    }
    if (!report.ok) {
      const failed = report.checks.filter((c) => c.needed && c.status === 'fail').map((c) => c.id);
      throw new TcError(
        DeployCode.doctorFailed,
        `${failed.length} check${failed.length === 1 ? '' : 's'} the ${report.target} target needs failed: ${failed.join(', ')}`,
        { exit: ExitCode.failure, hint: 'do what the lines marked fail say, then run `tclouds doctor` again' },
      );
    }
    return report;
  }
}
