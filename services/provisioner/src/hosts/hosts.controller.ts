import { Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiEmptyAnswer, ApiErrors, ApiPathParameters, ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import type { MachineRole } from '../domain/machine-plan.js';
import type { HostFacts } from './facts.js';
import { ClusterHostsAnswer } from './host-answers.js';
import { HostRecords, type HostChange } from './host-records.js';
import type { CheckName, CheckStatus } from './preflight.js';

export interface HostCheckView {
  check: CheckName;
  status: CheckStatus;
  message: string;
  observed: string;
  checkedAt: string;
}

export interface HostStepView {
  step: string;
  command: string;
  /** Null while the step runs (or when it was interrupted). */
  exitCode: number | null;
  /** Trimmed, with secrets masked. */
  output: string;
  startedAt: string;
  finishedAt: string | null;
}

export interface HostView {
  machine: string;
  role: MachineRole | null;
  address: string | null;
  facts: HostFacts | null;
  gatheredAt: string | null;
  checks: HostCheckView[];
  steps: HostStepView[];
  /** What Flotilla changed on the host, in order: what removing it undoes, and nothing else. */
  changes: HostChangeView[];
}

export interface HostChangeView {
  kind: HostChange['kind'];
  target: string;
  step: string;
}

const HostKeyPath = z.object({ address: z.string().min(1), port: z.coerce.number().int().min(1).max(65_535) });
type HostKeyPath = z.infer<typeof HostKeyPath>;

/** For operators: what the installer found and did on each of a cluster's hosts. */
@ApiTags('provisioner')
@Controller('api/v1/provisioner')
export class HostsController {
  constructor(@Inject(HostRecords) private readonly records: HostRecords) {}

  @Get('clusters/:id/hosts')
  @Access('viewer')
  @ApiOperation({ summary: 'Every host of a user-provisioned cluster: facts, preflight checks, install steps and what Flotilla changed on it' })
  @ApiParam({ name: 'id' })
  @ApiAnswer(200, ClusterHostsAnswer, 'Every host with its facts, checks, steps and the changes Flotilla made on it')
  @ApiErrors({ 404: 'Nothing was recorded for this cluster yet' })
  async hosts(@Param('id') clusterId: string): Promise<{ clusterId: string; hosts: HostView[] }> {
    const [facts, checks, steps, changes] = await Promise.all([this.records.factsRows(clusterId), this.records.checks(clusterId), this.records.steps(clusterId), this.records.changes(clusterId)]);
    const machines = [...new Set([...facts.map((row) => row.machine), ...checks.map((row) => row.machine), ...steps.map((row) => row.machine)])].sort();
    if (machines.length === 0) throw new NotFoundException(`no hosts recorded for cluster "${clusterId}"`);
    return {
      clusterId,
      hosts: machines.map((machine) => {
        const gathered = facts.find((row) => row.machine === machine);
        return {
          machine,
          role: gathered?.role ?? null,
          address: gathered?.address ?? null,
          facts: gathered?.facts ?? null,
          gatheredAt: gathered?.gatheredAt.toISOString() ?? null,
          checks: checks
            .filter((row) => row.machine === machine)
            .map((row) => ({ check: row.check, status: row.status, message: row.message, observed: row.observed, checkedAt: row.checkedAt.toISOString() })),
          steps: steps
            .filter((row) => row.machine === machine)
            .map((row) => ({ step: row.step, command: row.command, exitCode: row.exitCode, output: row.output, startedAt: row.startedAt.toISOString(), finishedAt: row.finishedAt?.toISOString() ?? null })),
          changes: changes.filter((change) => change.machine === machine).map(({ kind, target, step }) => ({ kind, target, step })),
        };
      }),
    };
  }

  @Delete('host-keys/:address/:port')
  @Access('admin')
  @HttpCode(204)
  @ApiOperation({ summary: 'Forget the pinned host key of a host (after a reinstall): the next key seen is pinned' })
  @ApiPathParameters(HostKeyPath)
  @ApiEmptyAnswer(204, 'Forgotten')
  @ApiErrors({ 400: 'The port is not a TCP port', 404: 'No key pinned for this host' })
  async unpin(@Param(new ZodValidationPipe(HostKeyPath)) { address, port }: HostKeyPath): Promise<void> {
    if (!(await this.records.unpin(address, port))) throw new NotFoundException(`no host key pinned for ${address}:${port}`);
  }
}
