import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { OnAnyEvent } from '@flotilla/messaging';
import { EventRejected, type CloudEvent } from '@flotilla/contracts';
import { trace } from '@opentelemetry/api';
import { evolve, summarise } from '../domain/cluster-view.js';
import { ClusterRepository } from '../repositories/cluster.repository.js';

/** Projects every domain event into the fleet read model and the cluster's history. */
@Controller()
export class FleetProjectionHandler {
  constructor(@Inject(ClusterRepository) private readonly clusters: ClusterRepository) {}

  @OnAnyEvent()
  async project(@Payload() event: CloudEvent): Promise<void> {
    const current = await this.clusters.findForUpdate(event.subject);
    const next = evolve(current, event);
    if (next) await this.clusters.save(next);
    // Rejections are kept even for ids no cluster has: operators look for them by subject.
    if (next || current || event.type === EventRejected.type) {
      await this.clusters.appendHistory({
        eventId: event.id,
        clusterId: event.subject,
        type: event.type,
        source: event.source,
        time: new Date(event.time),
        traceId: trace.getActiveSpan()?.spanContext().traceId ?? null,
        summary: summarise(event),
      });
    }
  }
}
