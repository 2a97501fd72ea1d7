import { Controller, Get, Inject, NotFoundException, Param } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors } from '@flotilla/service-kit';
import type { Reason } from '@flotilla/contracts';
import type { ClusterOperation, ClusterPhase, MachinePhase, MachineRemoval, MachineState } from '../domain/cluster/index.js';
import type { Condition } from '../domain/conditions.js';
import type { MachineRole } from '../domain/machine-plan.js';
import { ClusterRepository, type MachineQueueView } from '../repositories/cluster.repository.js';
import { ProvisionerClusterAnswer } from './answers.js';

export interface MachineView {
  name: string;
  role: MachineRole;
  pool: string | null;
  machineSize: string | null;
  /** For machines users bring: where the host is (never its key). */
  host: string | null;
  phase: MachinePhase;
  providerId: string | null;
  addresses: string[];
  /** The version it is made and joined on. */
  kubernetesVersion: string;
  kubeletVersion: string | null;
  failureReason: Reason | null;
  deadline: string | null;
  conditions: Condition[];
  /** A replacement: the machine it takes the place of, and why. */
  replaces: MachineState['replaces'];
  /** While Deleting: why it is being released. */
  removal: MachineRemoval | null;
  /** Since when its node has not been Ready. */
  unhealthySince: string | null;
  /** An in-place upgrade in progress (users' hosts). */
  upgrade: MachineState['upgrade'];
  reconcile: MachineQueueView | null;
}

export interface ProvisionerClusterView {
  id: string;
  name: string;
  model: string;
  /** The version the cluster is on (the requested one until an upgrade step completes). */
  kubernetesVersion: string;
  requestedVersion: string;
  release: string;
  phase: ClusterPhase;
  /** Scale, upgrade or deletion in progress; null when none. */
  operation: ClusterOperation | null;
  conditions: Condition[];
  failureReasons: Reason[];
  requestedAt: string;
  machines: MachineView[];
}

/** For operators: where a cluster's provisioning stands, machine by machine. */
@ApiTags('provisioner')
@Controller('api/v1/provisioner/clusters')
export class ProvisionerClustersController {
  constructor(@Inject(ClusterRepository) private readonly clusters: ClusterRepository) {}

  @Get(':id')
  @Access('viewer')
  @ApiOperation({ summary: 'A cluster\'s phase, operation in progress and conditions, and every machine with its phase, provider id and reconcile bookkeeping' })
  @ApiParam({ name: 'id' })
  @ApiAnswer(200, ProvisionerClusterAnswer, 'The cluster and its machines')
  @ApiErrors({ 404: 'The provisioner has no such cluster' })
  async get(@Param('id') id: string): Promise<ProvisionerClusterView> {
    const cluster = await this.clusters.find(id);
    if (!cluster) throw new NotFoundException(`cluster "${id}" not found`);
    const queue = await this.clusters.queueOf(id);
    return {
      id: cluster.id,
      name: cluster.name,
      model: cluster.model,
      kubernetesVersion: cluster.kubernetesVersion,
      requestedVersion: cluster.spec.kubernetesVersion,
      release: cluster.release,
      phase: cluster.phase,
      operation: cluster.operation,
      conditions: cluster.conditions,
      failureReasons: cluster.failureReasons,
      requestedAt: cluster.requestedAt,
      machines: cluster.machines.map((machine) => ({
        name: machine.name,
        role: machine.role,
        pool: machine.pool,
        machineSize: machine.machineSize,
        host: machine.host ? `${machine.host.user}@${machine.host.address}:${machine.host.port}` : null,
        phase: machine.phase,
        providerId: machine.providerId,
        addresses: machine.addresses,
        kubernetesVersion: machine.kubernetesVersion,
        kubeletVersion: machine.kubeletVersion,
        failureReason: machine.failureReason,
        deadline: machine.deadline,
        conditions: machine.conditions,
        replaces: machine.replaces,
        removal: machine.removal,
        unhealthySince: machine.unhealthySince,
        upgrade: machine.upgrade,
        reconcile: queue.get(machine.name) ?? null,
      })),
    };
  }
}
