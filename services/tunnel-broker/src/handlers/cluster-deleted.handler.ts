import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ClusterDeleted, type EventOf } from '@flotilla/contracts';
import { OnEvent } from '@flotilla/messaging';
import { TunnelSessions } from '../sessions/tunnel-sessions.js';

/**
 * A deleted cluster's tunnel must not stay up: its sessions are closed (TunnelDisconnected,
 * reason cluster-deleted) and its agent's next heartbeat is told why.
 */
@Controller()
export class ClusterDeletedHandler {
  constructor(@Inject(TunnelSessions) private readonly sessions: TunnelSessions) {}

  @OnEvent(ClusterDeleted)
  async onClusterDeleted(@Payload() event: EventOf<typeof ClusterDeleted>): Promise<void> {
    await this.sessions.closeCluster(event.subject, 'cluster-deleted');
  }
}
