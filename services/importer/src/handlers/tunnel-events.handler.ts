import { Controller, Inject, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ClusterUnreachable, TunnelConnected, TunnelDisconnected, type CloudEvent, type EventOf } from '@flotilla/contracts';
import { OnEvent, UnitOfWork } from '@flotilla/messaging';
import { Clock } from '@flotilla/service-kit';
import { evolve } from '../domain/connected-cluster.js';
import { decideTunnelChange } from '../domain/tunnel-cluster.js';
import { evolveTunnel } from '../domain/tunnel-link.js';
import { ClusterTunnelRepository } from '../repositories/cluster-tunnel.repository.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';

/**
 * Follows the tunnel broker: whether each cluster's agent is connected. A cluster registered
 * through the tunnel is checked only while it is up: its tunnel going down makes it Unreachable
 * at once (`tunnel-down`), and coming back has it re-checked (then Reachable when it answers).
 */
@Controller()
export class TunnelEventsHandler {
  private readonly logger = new Logger(TunnelEventsHandler.name);

  constructor(
    @Inject(ClusterTunnelRepository) private readonly tunnels: ClusterTunnelRepository,
    @Inject(ConnectedClusterRepository) private readonly clusters: ConnectedClusterRepository,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  // Each event changes its own cluster's rows only.
  @OnEvent(TunnelConnected, { concurrency: 'by-subject' })
  async onConnected(@Payload() event: EventOf<typeof TunnelConnected>): Promise<void> {
    await this.apply(event);
  }

  @OnEvent(TunnelDisconnected, { concurrency: 'by-subject' })
  async onDisconnected(@Payload() event: EventOf<typeof TunnelDisconnected>): Promise<void> {
    await this.apply(event);
  }

  private async apply(event: CloudEvent): Promise<void> {
    // The tunnel's lock, then the cluster's: the import worker takes them in that order too.
    const link = evolveTunnel(await this.tunnels.findForUpdate(event.subject), event);
    if (!link) return; // older than what is known, or a redelivery
    await this.tunnels.save(link);
    const cluster = await this.clusters.findForUpdate(event.subject);
    const effect = decideTunnelChange(cluster, link);
    switch (effect.kind) {
      case 'none':
        return;
      case 'unreachable': {
        const next = cluster && evolve(cluster, this.unitOfWork.emit(ClusterUnreachable, event.subject, effect.data));
        if (next) await this.clusters.save(next);
        this.logger.log({ msg: 'tunnel down: cluster unreachable', clusterId: event.subject, reason: link.reason });
        return;
      }
      case 'recheck':
        await this.clusters.syncSoon(event.subject, this.clock.now());
        return;
    }
  }
}
