import { Inject, Injectable } from '@nestjs/common';
import { ClusterProvisioningFailed, ClusterReady, NodesProvisioned } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import type { ClusterEvent } from '../domain/cluster.js';

/**
 * The provisioner's face on the bus: which of its own events the rest of the platform hears
 * about. Emitted through the outbox, so they commit with the state change that caused them.
 */
@Injectable()
export class IntegrationEvents {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  publish(events: readonly ClusterEvent[]): void {
    for (const event of events) {
      switch (event.type) {
        case 'ClusterRejected':
          this.unitOfWork.emit(ClusterProvisioningFailed, event.clusterId, { model: event.spec.model, reasons: event.reasons });
          break;
        case 'ClusterFailed':
          this.unitOfWork.emit(ClusterProvisioningFailed, event.clusterId, { model: event.model, reasons: event.reasons });
          break;
        case 'ClusterRunning':
          this.unitOfWork.emit(NodesProvisioned, event.clusterId, { model: event.model, nodes: event.nodes });
          this.unitOfWork.emit(ClusterReady, event.clusterId, { model: event.model, kubernetesVersion: event.kubernetesVersion, nodeCount: event.nodes.length });
          break;
        // Progress inside the provisioner: operators follow it on the HTTP API.
        case 'ClusterAccepted':
        case 'MachineProvisioningStarted':
        case 'MachineProvisioned':
        case 'MachineRunning':
        case 'MachineFailed':
        case 'ClusterInfrastructureReady':
          break;
      }
    }
  }
}
