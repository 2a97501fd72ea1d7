import { Clock } from '@flotilla/service-kit';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ClusterDeleted, ClusterImportRequested, ImportRejected, type EventOf } from '@flotilla/contracts';
import { OnEvent, PermanentError, UnitOfWork } from '@flotilla/messaging';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import { decideImportRequest, evolve, recordRequest } from '../domain/connected-cluster.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';

/** Import requests and deletions. Fast database work only: the connectivity check is the worker's. */
@Controller()
export class ImportRequestsHandler {
  constructor(
    @Inject(ConnectedClusterRepository) private readonly clusters: ConnectedClusterRepository,
    @Inject(CREDENTIAL_STORE) private readonly credentials: CredentialStore,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /**
   * Records the request (Requested). A request that can already be refused (unknown credential,
   * no API server...) gets its ImportRejected in the same transaction; the rest wait for the worker.
   */
  @OnEvent(ClusterImportRequested)
  async onImportRequested(@Payload() event: EventOf<typeof ClusterImportRequested>): Promise<void> {
    const current = await this.clusters.findForUpdate(event.subject);
    const credential = await this.credentials.find(event.data.credentialRef);
    const decision = decideImportRequest(current, event, credential, this.clock.now());
    switch (decision.kind) {
      case 'refused':
        // Dead-lettered with an EventRejected: the publisher learns why; the cluster is untouched.
        throw new PermanentError(decision.message, decision.code);
      case 'accepted': {
        const requested = recordRequest(current, event);
        const cluster = decision.rejection ? (evolve(requested, this.unitOfWork.emit(ImportRejected, event.subject, decision.rejection)) ?? requested) : requested;
        await this.clusters.save(cluster);
        return;
      }
    }
  }

  /** Forgets a deleted cluster (its id may be imported again); a check under way is dropped. */
  @OnEvent(ClusterDeleted)
  async onClusterDeleted(@Payload() event: EventOf<typeof ClusterDeleted>): Promise<void> {
    const current = await this.clusters.findForUpdate(event.subject);
    const next = evolve(current, event);
    if (next) await this.clusters.save(next);
  }
}
