import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { ALL_EVENTS, UnitOfWork } from '@flotilla/messaging';
import type { CloudEvent } from '@flotilla/contracts';
import { projectBatch } from '../domain/fleet-projection.js';
import { ClusterRepository } from '../repositories/cluster.repository.js';

/**
 * Projects every domain event into the fleet read model and the clusters' history. The inventory
 * hears every event of the platform, so it takes them a batch (one transaction) at a time: the
 * clusters of the batch are locked and read in one statement, projected in memory, and written
 * back in a handful of statements however many events the batch holds.
 */
@Controller()
export class FleetProjectionHandler {
  constructor(
    @Inject(ClusterRepository) private readonly clusters: ClusterRepository,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
  ) {}

  // `@OnAnyEvent()` taking the whole batch: every event of the bus, a transaction's worth at once.
  @EventPattern(ALL_EVENTS, { batch: true })
  async project(@Payload() batch: CloudEvent[]): Promise<void> {
    // Batches about the same ids never overlap, known or not yet: a refusal recorded for an id no
    // cluster has is seen by the batch that makes the cluster known, and the other way round.
    // Ids another replica's batch holds are not waited for: their events are handed back and
    // come again shortly, so replicas work side by side. The projection does not depend on the
    // order events arrive in (each view applies facts in the order they happened).
    const taken = await this.clusters.tryLockIds([...new Set(batch.map((event) => event.subject))]);
    const events = batch.filter((event) => taken.has(event.subject));
    if (events.length < batch.length) this.unitOfWork.defer(batch.filter((event) => !taken.has(event.subject)));
    if (events.length === 0) return;
    const subjects = [...taken];
    const current = await this.clusters.lockMany(subjects);
    // Refusals that arrived before their cluster was known apply to it once it is.
    const earlier = await this.clusters.rejectionsOf(subjects.filter((id) => !current.has(id)));
    const { views, history } = projectBatch(current, events, earlier);
    const created = [...views.values()].filter((view) => !current.has(view.id));
    const updated = [...views.values()].filter((view) => current.has(view.id));
    const inserted = await this.clusters.insertMany(created);
    const raced = created.filter((view) => !inserted.has(view.id)).map((view) => view.id);
    // Only the projection creates clusters, under their ids' locks: another transaction that did
    // all the same fails the batch, retried on what it committed.
    if (raced.length > 0) throw new Error(`clusters ${raced.join(', ')} were created by another transaction while this batch held their ids`);
    await this.clusters.updateMany(updated);
    await this.clusters.appendHistory(history);
  }
}
