import { Inject, Injectable } from '@nestjs/common';
import { ClusterDeleted, ClusterProgress, ClusterProvisioningFailed, ClusterReady, ClusterUpgraded, MachineReplaced, NodePoolScaled, NodesProvisioned, NodeUnhealthy, UpgradeStepFailed } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { JoinSecretsRepository } from '../bootstrap/join-secrets.repository.js';
import type { ClusterEvent, ClusterState } from '../domain/cluster/index.js';
import { progressOf, sameProgress } from '../domain/progress.js';
import { CONTROL_PLANE_PLACEMENT, type ControlPlanePlacement } from '../hosted/control-plane-placement.js';

/**
 * The provisioner's face on the bus: which of its own events the rest of the platform hears
 * about. Emitted through the outbox, so they commit with the state change that caused them. A
 * hosted control plane is retired in the same transaction when its cluster fails or is deleted
 * (deleted from its management cluster, its room freed once it is gone there), and a deleted
 * cluster's join secrets are deleted with it.
 */
@Injectable()
export class IntegrationEvents {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(CONTROL_PLANE_PLACEMENT) private readonly placement: ControlPlanePlacement,
    @Inject(JoinSecretsRepository) private readonly joinSecrets: JoinSecretsRepository,
  ) {}

  async publish(events: readonly ClusterEvent[]): Promise<void> {
    for (const event of events) {
      switch (event.type) {
        case 'ClusterRejected':
          this.unitOfWork.emit(ClusterProvisioningFailed, event.clusterId, {
            model: event.spec.model,
            reasons: event.reasons,
            release: event.release,
            ...(event.policyRevision === undefined ? {} : { policyRevision: event.policyRevision }),
          });
          break;
        case 'ClusterFailed':
          this.unitOfWork.emit(ClusterProvisioningFailed, event.clusterId, { model: event.model, reasons: event.reasons });
          if (event.model === 'hosted-control-plane') await this.placement.retire(event.clusterId);
          break;
        case 'ClusterRunning':
          this.unitOfWork.emit(NodesProvisioned, event.clusterId, { model: event.model, nodes: event.nodes });
          this.unitOfWork.emit(ClusterReady, event.clusterId, {
            model: event.model,
            kubernetesVersion: event.kubernetesVersion,
            nodeCount: event.nodes.length,
            ...(event.apiServerEndpoint === undefined ? {} : { apiServerEndpoint: apiServerUrl(event.apiServerEndpoint) }),
            ...(event.release === undefined ? {} : { release: event.release }),
            ...(event.policyRevision === undefined ? {} : { policyRevision: event.policyRevision }),
          });
          break;
        case 'NodesJoined':
          this.unitOfWork.emit(NodesProvisioned, event.clusterId, { model: event.model, nodes: event.nodes });
          break;
        case 'MachineReplaced':
          this.unitOfWork.emit(MachineReplaced, event.clusterId, {
            model: event.model,
            role: event.role,
            ...(event.pool === null ? {} : { pool: event.pool }),
            oldMachine: machineRef(event.oldMachine),
            newMachine: machineRef(event.newMachine),
            reason: event.reason,
          });
          break;
        case 'HostRemediationStarted':
          this.unitOfWork.emit(NodeUnhealthy, event.clusterId, {
            model: event.model,
            node: event.machine,
            address: event.address,
            role: event.role,
            ...(event.pool === null ? {} : { pool: event.pool }),
            unhealthySince: event.unhealthySince,
            remediation: event.remediation,
            ...(event.spare === undefined ? {} : { spare: event.spare }),
            message: event.message,
          });
          break;
        case 'NodePoolScaled':
          this.unitOfWork.emit(NodePoolScaled, event.clusterId, { model: event.model, pool: event.pool, from: event.from, to: event.to, requested: event.requested, nodes: event.nodes, removed: event.removed });
          break;
        case 'ClusterUpgraded':
          this.unitOfWork.emit(ClusterUpgraded, event.clusterId, {
            model: event.model,
            fromVersion: event.fromVersion,
            toVersion: event.toVersion,
            planId: event.planId,
            ...(event.policyRevision === undefined ? {} : { policyRevision: event.policyRevision }),
          });
          break;
        case 'UpgradeStepRejected':
        case 'UpgradeFailed':
          this.unitOfWork.emit(UpgradeStepFailed, event.clusterId, {
            model: event.model,
            planId: event.planId,
            fromVersion: event.fromVersion,
            toVersion: event.toVersion,
            reasons: event.reasons,
            ...(event.policyRevision === undefined ? {} : { policyRevision: event.policyRevision }),
          });
          break;
        case 'ClusterDeleted':
          this.unitOfWork.emit(ClusterDeleted, event.clusterId, { model: event.model });
          // No node will join it again: its sealed CA key and tokens go with it.
          await this.joinSecrets.delete(event.clusterId);
          if (event.model === 'hosted-control-plane') await this.placement.retire(event.clusterId);
          break;
        // Progress inside the provisioner: operators follow it on the HTTP API, and the platform
        // through ClusterProgress (reportProgress).
        case 'ClusterAccepted':
        case 'MachineProvisioningStarted':
        case 'MachineProvisioned':
        case 'MachineRunning':
        case 'MachineFailed':
        case 'ApiServerEndpointAssigned':
        case 'ClusterInfrastructureReady':
        case 'MachinesAdded':
        case 'MachineRemovalStarted':
        case 'MachineDeleted':
        case 'MachineUnhealthy':
        case 'MachineHealthy':
        case 'HostRebooted':
        case 'RemediationBlocked':
        case 'RemediationAllowed':
        case 'NodePoolScalingStarted':
        case 'UpgradeStarted':
        case 'MachineUpgradeStarted':
        case 'MachineUpgraded':
        case 'ClusterDeletionStarted':
          break;
      }
    }
  }

  /**
   * ClusterProgress for every cluster whose progress changed between `before` and `after` (the
   * phase, machines ready of total, the operation), after the facts of the same transaction. A
   * request taken up, or found already done, is answered by naming it, changed or not.
   */
  reportProgress(before: ReadonlyMap<string, ClusterState>, after: ReadonlyMap<string, ClusterState>, requestEventId?: string): void {
    for (const [clusterId, state] of after) {
      const previous = before.get(clusterId);
      const report = progressOf(state);
      if (requestEventId === undefined && sameProgress(previous && progressOf(previous), report)) continue;
      this.unitOfWork.emit(ClusterProgress, clusterId, { ...report, ...(requestEventId === undefined ? {} : { requestEventId }) });
    }
  }
}

/** `host:port` as the URL a kubeconfig's `server` holds. */
export function apiServerUrl(endpoint: string): string {
  return `https://${endpoint}`;
}

function machineRef(machine: { name: string; providerId: string | null; kubeletVersion: string | null }) {
  return {
    name: machine.name,
    ...(machine.providerId === null ? {} : { providerId: machine.providerId }),
    ...(machine.kubeletVersion === null ? {} : { kubeletVersion: machine.kubeletVersion }),
  };
}
