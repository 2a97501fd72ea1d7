import { Module, type DynamicModule } from '@nestjs/common';
import { streamPlacement } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { secretsEntities, secretsMigrations, SecretsModule } from '@flotilla/secrets';
import { Clock, ServiceKitModule } from '@flotilla/service-kit';
import { AgentGateway } from './agents/agent-gateway.js';
import { REPLICA_URL, ReplicaIdentity } from './agents/replica.js';
import { SessionRegistry } from './agents/session-registry.js';
import { AGENT_SETTINGS, agentSettings, SESSION_TIMING, sessionTiming, type TunnelBrokerConfig } from './config.js';
import { EnrollmentController } from './enrollment/enrollment.controller.js';
import { EnrollmentRepository } from './enrollment/enrollment.repository.js';
import { EnrollmentService } from './enrollment/enrollment.service.js';
import { TunnelSessionEntity } from './entities/tunnel-session.entity.js';
import { ClusterDeletedHandler } from './handlers/cluster-deleted.handler.js';
import { RegistrationEventsHandler } from './handlers/registration-events.handler.js';
import { TunnelsController } from './http/tunnels.controller.js';
import { TunnelBrokerTables1732300004000 } from './migrations/1732300004000-tunnel-broker-tables.js';
import { AgentEnrollment1732300004100 } from './migrations/1732300004100-agent-enrollment.js';
import { BrokerCa } from './pki/broker-ca.js';
import { ProxyController } from './proxy/proxy.controller.js';
import { TunnelProxy } from './proxy/tunnel-proxy.js';
import { TunnelSessionRepository } from './repositories/tunnel-session.repository.js';
import { TunnelSessions } from './sessions/tunnel-sessions.js';
import { SessionSweeper, SWEEPER_SETTINGS, type SweeperSettings } from './workers/session-sweeper.js';

@Module({})
export class TunnelBrokerModule {
  static register(config: TunnelBrokerConfig): DynamicModule {
    const sweeper: SweeperSettings = { intervalMs: config.TUNNEL_SWEEP_INTERVAL_MS, batch: config.TUNNEL_SWEEP_BATCH, retentionMs: config.TUNNEL_SESSION_RETENTION_MS };
    return {
      module: TunnelBrokerModule,
      imports: [
        ServiceKitModule.forRoot({
          service: 'tunnel-broker',
          config,
          migrations: [TunnelBrokerTables1732300004000, ...secretsMigrations, AgentEnrollment1732300004100],
          entities: [TunnelSessionEntity, ...secretsEntities],
        }),
        SecretsModule.forRoot({ keys: config.SECRETS_KEYS }),
      ],
      controllers: [ClusterDeletedHandler, RegistrationEventsHandler, TunnelsController, EnrollmentController, ProxyController],
      providers: [
        Clock,
        TunnelSessionRepository,
        TunnelSessions,
        EnrollmentRepository,
        EnrollmentService,
        BrokerCa,
        { provide: SESSION_TIMING, useValue: sessionTiming(config) },
        { provide: AGENT_SETTINGS, useValue: agentSettings(config) },
        { provide: SWEEPER_SETTINGS, useValue: sweeper },
        { provide: REPLICA_URL, useValue: config.TUNNEL_REPLICA_URL },
        { provide: SessionRegistry, inject: [BusConnection], useFactory: (bus: BusConnection) => SessionRegistry.open(bus, { prefix: config.BUS_PREFIX }, { replicas: config.BUS_REPLICAS, placement: streamPlacement(config) }) },
        ReplicaIdentity,
        AgentGateway,
        TunnelProxy,
        SessionSweeper,
      ],
    };
  }
}
