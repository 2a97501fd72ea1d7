import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ClusterDeleted, type EventOf } from '@flotilla/contracts';
import { OnEvent } from '@flotilla/messaging';
import { SessionRegistry } from '../agents/session-registry.js';
import { EnrollmentRepository } from '../enrollment/enrollment.repository.js';
import { TunnelSessions } from '../sessions/tunnel-sessions.js';

/**
 * A deleted cluster's tunnel must not stay up: its agent's certificates are revoked, its sessions
 * closed (TunnelDisconnected, reason cluster-deleted), and whichever replica holds its agent tells
 * it to stop. An agent that comes back later is told to stop too, and never admitted again.
 */
@Controller()
export class ClusterDeletedHandler {
  constructor(
    @Inject(TunnelSessions) private readonly sessions: TunnelSessions,
    @Inject(EnrollmentRepository) private readonly enrollment: EnrollmentRepository,
    @Inject(SessionRegistry) private readonly registry: SessionRegistry,
  ) {}

  @OnEvent(ClusterDeleted)
  async onClusterDeleted(@Payload() event: EventOf<typeof ClusterDeleted>): Promise<void> {
    const known = await this.enrollment.findCluster(event.subject);
    await this.enrollment.removeCluster(event.subject, 'cluster-deleted', new Date(event.time));
    await this.sessions.closeCluster(event.subject, 'cluster-deleted');
    // Asked again if the transaction is retried: stopping twice is harmless.
    if (known) await this.registry.requestStop(event.subject);
  }
}
