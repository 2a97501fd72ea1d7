import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  ClusterAdopted,
  ClusterDeleted,
  ClusterImported,
  ClusterReady,
  ClusterUpgraded,
  ClusterVersionChanged,
  MachineReplaced,
  NodePoolScaled,
  NodesProvisioned,
  type CloudEvent,
  type EventOf,
} from '@flotilla/contracts';
import { OnEvent } from '@flotilla/messaging';
import { evolve } from '../domain/fleet-entry.js';
import { RecomputeScheduler } from '../planning/recompute.scheduler.js';
import { FleetRepository } from '../repositories/fleet.repository.js';

/** Each fact changes its own cluster's row only, so clusters are recorded side by side. */
const BY_CLUSTER = { concurrency: 'by-subject' } as const;

/** Keeps the planner's own view of the fleet from the facts other services publish. */
@Controller()
export class FleetFactsHandler {
  constructor(
    @Inject(FleetRepository) private readonly fleet: FleetRepository,
    @Inject(RecomputeScheduler) private readonly scheduler: RecomputeScheduler,
  ) {}

  @OnEvent(NodesProvisioned, BY_CLUSTER)
  nodesProvisioned(@Payload() event: EventOf<typeof NodesProvisioned>): Promise<void> {
    return this.record(event);
  }

  @OnEvent(ClusterReady, BY_CLUSTER)
  clusterReady(@Payload() event: EventOf<typeof ClusterReady>): Promise<void> {
    return this.record(event);
  }

  @OnEvent(ClusterImported, BY_CLUSTER)
  clusterImported(@Payload() event: EventOf<typeof ClusterImported>): Promise<void> {
    return this.record(event);
  }

  @OnEvent(ClusterAdopted, BY_CLUSTER)
  clusterAdopted(@Payload() event: EventOf<typeof ClusterAdopted>): Promise<void> {
    return this.record(event);
  }

  @OnEvent(ClusterVersionChanged, BY_CLUSTER)
  clusterVersionChanged(@Payload() event: EventOf<typeof ClusterVersionChanged>): Promise<void> {
    return this.record(event);
  }

  @OnEvent(ClusterUpgraded, BY_CLUSTER)
  clusterUpgraded(@Payload() event: EventOf<typeof ClusterUpgraded>): Promise<void> {
    return this.record(event);
  }

  @OnEvent(MachineReplaced, BY_CLUSTER)
  machineReplaced(@Payload() event: EventOf<typeof MachineReplaced>): Promise<void> {
    return this.record(event);
  }

  @OnEvent(NodePoolScaled, BY_CLUSTER)
  nodePoolScaled(@Payload() event: EventOf<typeof NodePoolScaled>): Promise<void> {
    return this.record(event);
  }

  @OnEvent(ClusterDeleted, BY_CLUSTER)
  clusterDeleted(@Payload() event: EventOf<typeof ClusterDeleted>): Promise<void> {
    return this.record(event);
  }

  private async record(event: CloudEvent): Promise<void> {
    const current = await this.fleet.lockOrCreate(event.subject, event.time);
    const next = evolve(current, event);
    if (next === current) return;
    await this.fleet.save(next);
    this.scheduler.fleetChanged();
  }
}
