import { Clock } from '@flotilla/service-kit';
import { Controller, Inject, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ClusterDeleted, ClusterDeletionRequested, ClusterImportRequested, ImportRejected, type EventOf } from '@flotilla/contracts';
import { OnEvent, PermanentError, UnitOfWork } from '@flotilla/messaging';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import { decideImportRequest, evolve, recordRequest } from '../domain/connected-cluster.js';
import { isTunnelRef, reachedThroughTunnel } from '../domain/tunnel-cluster.js';
import { RegistrationTokenRepository } from '../registration/registration-token.repository.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';

/** Import requests, deletion requests and deletions. Fast database work only: the connectivity check is the worker's. */
@Controller()
export class ImportRequestsHandler {
  private readonly logger = new Logger(ImportRequestsHandler.name);

  constructor(
    @Inject(ConnectedClusterRepository) private readonly clusters: ConnectedClusterRepository,
    @Inject(CREDENTIAL_STORE) private readonly credentials: CredentialStore,
    @Inject(RegistrationTokenRepository) private readonly registrations: RegistrationTokenRepository,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /**
   * Records the request (Requested). A request that can already be refused (unknown credential,
   * no API server, a tunnel with no redeemed registration...) gets its ImportRejected in the same
   * transaction; the rest wait for the worker.
   */
  @OnEvent(ClusterImportRequested)
  async onImportRequested(@Payload() event: EventOf<typeof ClusterImportRequested>): Promise<void> {
    const current = await this.clusters.findForUpdate(event.subject);
    const access = isTunnelRef(event.data.credentialRef)
      ? // A cluster removed since its registration was redeemed is refused by the broker from then on.
        { kind: 'tunnel' as const, redeemed: await this.registrations.isRedeemed(event.subject, current?.deletedAt ?? undefined) }
      : await this.credentials.find(event.data.credentialRef);
    const decision = decideImportRequest(current, event, access, this.clock.now());
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

  /**
   * Removes a connected cluster the importer holds (whatever its state): forgotten at once (a
   * check under way is dropped, re-checks stop), its stored credential deleted unless another
   * cluster still uses it, and ClusterDeleted emitted (the tunnel broker then revokes the agent's
   * certificate). A cluster the importer does not hold is another service's: acknowledged, ignored.
   */
  @OnEvent(ClusterDeletionRequested)
  async onDeletionRequested(@Payload() event: EventOf<typeof ClusterDeletionRequested>): Promise<void> {
    const current = await this.clusters.findForUpdate(event.subject);
    if (!current || current.deletedAt !== null) return;
    const next = evolve(current, this.unitOfWork.emit(ClusterDeleted, event.subject, { model: 'connected' }));
    if (next) await this.clusters.save(next);
    if (reachedThroughTunnel(current)) return;
    const others = await this.clusters.othersUsingCredential(current.credentialRef, current.id);
    if (others.length === 0) await this.credentials.delete(current.credentialRef);
    this.logger.log({ msg: 'connected cluster removed', clusterId: current.id, credentialRef: current.credentialRef, credentialKept: others.length > 0 ? others : undefined });
  }

  /** Forgets a deleted cluster (its id may be imported again); a check under way is dropped. */
  @OnEvent(ClusterDeleted)
  async onClusterDeleted(@Payload() event: EventOf<typeof ClusterDeleted>): Promise<void> {
    const current = await this.clusters.findForUpdate(event.subject);
    const next = evolve(current, event);
    if (next) await this.clusters.save(next);
  }
}
