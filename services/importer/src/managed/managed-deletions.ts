import { Inject, Injectable, Logger } from '@nestjs/common';
import { ClusterProgress, type ClusterDeletionRequested, type EventOf } from '@flotilla/contracts';
import { PermanentError, UnitOfWork } from '@flotilla/messaging';
import { Clock } from '@flotilla/service-kit';
import { ManagedClusterRepository } from './managed-cluster.repository.js';
import { progressData } from './outcome.js';
import { decideDelete } from './requests.js';

/**
 * Deletion of a managed cloud cluster: taken up here, answered by ClusterDeleted (model
 * public-cloud) once the cloud has nothing of it left. Called by the importer's one handler of
 * ClusterDeletionRequested before it looks at connected clusters.
 */
@Injectable()
export class ManagedDeletions {
  private readonly logger = new Logger(ManagedDeletions.name);

  constructor(
    @Inject(ManagedClusterRepository) private readonly clusters: ManagedClusterRepository,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** Whether the importer runs a public cloud cluster of that id (one not deleted). */
  async holds(id: string): Promise<boolean> {
    const cluster = await this.clusters.find(id);
    return cluster !== undefined && cluster.phase !== 'Deleted';
  }

  /** True when the id is a managed cluster (the request is then dealt with), false when it is not one. */
  async onDeletionRequested(event: EventOf<typeof ClusterDeletionRequested>): Promise<boolean> {
    const cluster = await this.clusters.findForUpdate(event.subject);
    if (cluster === undefined) return false;
    const outcome = decideDelete(cluster, event.id, this.clock.now());
    switch (outcome.kind) {
      case 'none':
        return true;
      case 'reject':
        throw new PermanentError(outcome.message, outcome.code);
      case 'answer':
        // Deletion is never refused with reasons: it always goes ahead or was done.
        return true;
      case 'work':
        await this.clusters.save(outcome.cluster);
        this.unitOfWork.emit(ClusterProgress, event.subject, progressData(outcome.cluster, null, event.id));
        this.logger.log({ msg: 'public cloud cluster deletion taken up', clusterId: event.subject });
        return true;
    }
  }
}
