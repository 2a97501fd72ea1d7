import { Module, type DynamicModule } from '@nestjs/common';
import { Clock, ServiceKitModule } from '@flotilla/service-kit';
import { SESSION_TIMING, sessionTiming, type TunnelBrokerConfig } from './config.js';
import { TunnelSessionEntity } from './entities/tunnel-session.entity.js';
import { ClusterDeletedHandler } from './handlers/cluster-deleted.handler.js';
import { TunnelsController } from './http/tunnels.controller.js';
import { TunnelBrokerTables1732300004000 } from './migrations/1732300004000-tunnel-broker-tables.js';
import { TunnelSessionRepository } from './repositories/tunnel-session.repository.js';
import { TunnelSessions } from './sessions/tunnel-sessions.js';
import { SessionSweeper, SWEEPER_SETTINGS, type SweeperSettings } from './workers/session-sweeper.js';

@Module({})
export class TunnelBrokerModule {
  static register(config: TunnelBrokerConfig): DynamicModule {
    const sweeper: SweeperSettings = { intervalMs: config.TUNNEL_SWEEP_INTERVAL_MS, batch: config.TUNNEL_SWEEP_BATCH, retentionMs: config.TUNNEL_SESSION_RETENTION_MS };
    return {
      module: TunnelBrokerModule,
      imports: [ServiceKitModule.forRoot({ service: 'tunnel-broker', config, migrations: [TunnelBrokerTables1732300004000], entities: [TunnelSessionEntity] })],
      controllers: [ClusterDeletedHandler, TunnelsController],
      providers: [
        Clock,
        TunnelSessionRepository,
        TunnelSessions,
        { provide: SESSION_TIMING, useValue: sessionTiming(config) },
        { provide: SWEEPER_SETTINGS, useValue: sweeper },
        SessionSweeper,
      ],
    };
  }
}
