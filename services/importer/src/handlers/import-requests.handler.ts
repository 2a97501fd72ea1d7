import { Clock } from '@flotilla/service-kit';
import { Controller, Inject, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ClusterDeleted, ClusterDeletionRequested, ClusterImportRequested, ImportRejected, TunnelRegistrationRevoked, type EventOf } from '@flotilla/contracts';
import { OnEvent, PermanentError, UnitOfWork } from '@flotilla/messaging';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import { decideImportRequest, evolve, recordRequest } from '../domain/connected-cluster.js';
import { decideRemoval, removedRegistration } from '../domain/removal.js';
import { isTunnelRef, reachedThroughTunnel } from '../domain/tunnel-cluster.js';
import { ManagedDeletions } from '../managed/managed-deletions.js';
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
    @Inject(ManagedDeletions) private readonly managed: ManagedDeletions,
  ) {}

  /**
   * Records the request (Requested). A request that can already be refused (unknown credential,
   * no API server, a tunnel with no redeemed registration...) gets its ImportRejected in the same
   * transaction; the rest wait for the worker.
   */
  @OnEvent(ClusterImportRequested)
  async onImportRequested(@Payload() event: EventOf<typeof ClusterImportRequested>): Promise<void> {
    const current = await this.clusters.findForUpdate(event.subject);
    // A public cloud cluster being created (or kept) here is not imported over itself.
    if (await this.managed.holds(event.subject)) throw new PermanentError(`cluster ${event.subject} is a public cloud cluster the importer runs`, 'cluster-managed');
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
   * Answers every deletion request, so none waits forever in the inventory. A connected cluster
   * the importer holds (whatever its state) is forgotten at once (a check under way is dropped,
   * re-checks stop), its stored credential deleted unless another cluster still uses it (the ref
   * can then be registered again, bound to any server), and ClusterDeleted emitted once (the
   * tunnel broker then revokes the agent's certificate). A cluster registered for the tunnel
   * whose agent never enrolled has its open registrations revoked, then ClusterDeleted. A second
   * request made before the removal is answered by that ClusterDeleted; anything else (a cluster
   * removed before the request was made, an id the importer does not hold) is refused with its
   * reason (EventRejected): the inventory shows the importer's refusal of a connected cluster's
   * deletion, and leaves the provisioner to answer for the clusters it owns.
   */
  @OnEvent(ClusterDeletionRequested)
  async onDeletionRequested(@Payload() event: EventOf<typeof ClusterDeletionRequested>): Promise<void> {
    // A public cloud cluster the importer runs is deleted at its cloud first (src/managed).
    if (await this.managed.onDeletionRequested(event)) return;
    const current = await this.clusters.findForUpdate(event.subject);
    const registrations = current ? [] : await this.registrations.forClusterForUpdate(event.subject);
    const decision = decideRemoval(event.subject, current, registrations, event);
    switch (decision.kind) {
      case 'answered':
        return;
      case 'refused':
        throw new PermanentError(decision.message, decision.code);
      case 'withdraw-registrations': {
        const now = this.clock.now().toISOString();
        for (const registration of decision.revoke) {
          await this.registrations.save({ ...registration, revokedAt: now });
          this.unitOfWork.emit(TunnelRegistrationRevoked, event.subject, { registrationId: registration.id });
        }
        const deleted = this.unitOfWork.emit(ClusterDeleted, event.subject, { model: 'connected' });
        await this.clusters.save(removedRegistration(event.subject, decision.name, event.id, event.time, deleted.time));
        this.logger.log({ msg: 'registered cluster removed before its agent enrolled', clusterId: event.subject, revoked: decision.revoke.map((registration) => registration.id) });
        return;
      }
      case 'remove': {
        const { cluster } = decision;
        const next = evolve(cluster, this.unitOfWork.emit(ClusterDeleted, event.subject, { model: 'connected' }));
        if (next) await this.clusters.save(next);
        if (reachedThroughTunnel(cluster)) return;
        const others = await this.clusters.othersUsingCredential(cluster.credentialRef, cluster.id);
        if (others.length === 0) await this.credentials.delete(cluster.credentialRef);
        this.logger.log({ msg: 'connected cluster removed', clusterId: cluster.id, credentialRef: cluster.credentialRef, credentialKept: others.length > 0 ? others : undefined });
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
