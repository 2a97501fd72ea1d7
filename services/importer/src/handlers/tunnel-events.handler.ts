import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { TunnelConnected, TunnelDisconnected, type CloudEvent, type EventOf } from '@flotilla/contracts';
import { OnEvent } from '@flotilla/messaging';
import { evolveTunnel } from '../domain/tunnel-link.js';
import { ClusterTunnelRepository } from '../repositories/cluster-tunnel.repository.js';

/**
 * Follows the tunnel broker: whether each cluster's agent is connected. Later, clusters
 * registered through a tunnel are checked through it, and a tunnel down makes them Unreachable.
 */
@Controller()
export class TunnelEventsHandler {
  constructor(@Inject(ClusterTunnelRepository) private readonly tunnels: ClusterTunnelRepository) {}

  // Each event changes its own cluster's tunnel row only.
  @OnEvent(TunnelConnected, { concurrency: 'by-subject' })
  async onConnected(@Payload() event: EventOf<typeof TunnelConnected>): Promise<void> {
    await this.apply(event);
  }

  @OnEvent(TunnelDisconnected, { concurrency: 'by-subject' })
  async onDisconnected(@Payload() event: EventOf<typeof TunnelDisconnected>): Promise<void> {
    await this.apply(event);
  }

  private async apply(event: CloudEvent): Promise<void> {
    const next = evolveTunnel(await this.tunnels.findForUpdate(event.subject), event);
    if (next) await this.tunnels.save(next);
  }
}
