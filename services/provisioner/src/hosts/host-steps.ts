import type { LoggerService } from '@nestjs/common';
import { asRoot, maskSecrets, trimOutput, writeFileScript } from './commands.js';
import type { HostChange, HostRecords } from './host-records.js';
import type { SshSession } from './ssh-session.js';

/** A step failed on the host: the machine fails with this message. */
export class StepFailed extends Error {}

export interface StepResult {
  exitCode: number;
  output: string;
}

export interface StepOptions {
  stdin?: string | undefined;
  /** Values to mask in the recorded command and output (besides the steps' own). */
  mask?: readonly string[];
  /** Run again even if it succeeded before. */
  rerun?: boolean;
  /** A non-zero exit is an answer, not a failure. */
  allowFailure?: boolean;
}

/** A file the installer writes on a host. */
export interface FileToWrite {
  path: string;
  mode: string;
  content: string;
}

/**
 * The recorded steps of one machine, run in an open SSH session (to its own host, or to a
 * control-plane host for kubectl): each as root, recorded with its command, exit code and masked
 * output, and not run again once it succeeded. What a step changes on the host is recorded
 * before it runs (`change`), so a removal undoes it even after a crash mid-step.
 */
export class HostSteps {
  constructor(
    private readonly records: HostRecords,
    private readonly logger: Pick<LoggerService, 'log'>,
    readonly session: SshSession,
    readonly clusterId: string,
    readonly machine: string,
    private readonly mask: readonly string[] = [],
  ) {}

  async run(step: string, script: string, options: StepOptions = {}): Promise<StepResult> {
    const previous = await this.records.step(this.clusterId, this.machine, step);
    if (!options.rerun && previous?.exitCode === 0) return { exitCode: 0, output: previous.output };
    const mask = [...this.mask, ...(options.mask ?? [])];
    await this.records.stepStarted(this.clusterId, this.machine, step, maskSecrets(script, mask));
    const result = await this.session.run(asRoot(this.session.target.user, script), options.stdin);
    const output = trimOutput(maskSecrets(result.output, mask));
    await this.records.stepFinished(this.clusterId, this.machine, step, result.exitCode, output);
    this.logger.log(`${this.machine}: step ${step} exited ${result.exitCode}`);
    if (result.exitCode !== 0 && !options.allowFailure) throw new StepFailed(`${this.machine}: step ${step} failed (exit ${result.exitCode}): ${lastLine(output)}`);
    return { exitCode: result.exitCode, output };
  }

  /** Records what the next step changes on this machine's host. */
  async change(kind: HostChange['kind'], target: string, step: string): Promise<void> {
    await this.records.recordChange(this.clusterId, this.machine, { kind, target, step });
  }

  /** Writes a file (its content on standard input, never in a command line), the host's own copy saved first. */
  async writeFile(step: string, file: FileToWrite, options: Pick<StepOptions, 'rerun'> = {}): Promise<StepResult> {
    await this.change('file', file.path, step);
    return this.run(step, writeFileScript(file.path, file.mode), { stdin: Buffer.from(file.content).toString('base64'), ...options });
  }
}

export function lastLine(output: string): string {
  const lines = output.split('\n').filter((line) => line.trim().length > 0);
  return lines[lines.length - 1] ?? '(no output)';
}
