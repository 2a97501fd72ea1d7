import { Controller, Get, Inject, NotFoundException, Param } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Reason } from '@flotilla/contracts';
import type { ClusterPhase, MachinePhase } from '../domain/cluster.js';
import type { Condition } from '../domain/conditions.js';
import type { MachineRole } from '../domain/machine-plan.js';
import { ClusterRepository, type MachineQueueView } from '../repositories/cluster.repository.js';

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
  kubeletVersion: string | null;
  failureReason: Reason | null;
  deadline: string | null;
  conditions: Condition[];
  reconcile: MachineQueueView | null;
}

export interface ProvisionerClusterView {
  id: string;
  name: string;
  model: string;
  kubernetesVersion: string;
  release: string;
  phase: ClusterPhase;
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
  @ApiOperation({ summary: 'A cluster\'s phase and conditions, and every machine with its phase, provider id and reconcile bookkeeping' })
  @ApiParam({ name: 'id' })
  @ApiResponse({ status: 404, description: 'The provisioner has no such cluster' })
  async get(@Param('id') id: string): Promise<ProvisionerClusterView> {
    const cluster = await this.clusters.find(id);
    if (!cluster) throw new NotFoundException(`cluster "${id}" not found`);
    const queue = await this.clusters.queueOf(id);
    return {
      id: cluster.id,
      name: cluster.name,
      model: cluster.model,
      kubernetesVersion: cluster.spec.kubernetesVersion,
      release: cluster.release,
      phase: cluster.phase,
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
        kubeletVersion: machine.kubeletVersion,
        failureReason: machine.failureReason,
        deadline: machine.deadline,
        conditions: machine.conditions,
        reconcile: queue.get(machine.name) ?? null,
      })),
    };
  }
}
