import { Module, type DynamicModule } from '@nestjs/common';
import { SecretsModule, secretsEntities, secretsMigrations } from '@flotilla/secrets';
import { streamPlacement } from '@flotilla/contracts';
import { PolicyModule, ServiceKitModule } from '@flotilla/service-kit';
import { AUDIT_STREAM_OPTIONS, FleetAuditConsumer } from './audit/fleet-audit.consumer.js';
import { AuditController } from './audit/audit.controller.js';
import type { InventoryConfig } from './config.js';
import { ClusterEventEntity } from './entities/cluster-event.entity.js';
import { ClusterEntity } from './entities/cluster.entity.js';
import { FleetProjectionHandler } from './handlers/fleet-projection.handler.js';
import { ClustersController } from './http/clusters.controller.js';
import { OverviewController } from './http/overview.controller.js';
import { InventoryTables1732300001000 } from './migrations/1732300001000-inventory-tables.js';
import { ClusterLabelsTokensAudit1732300007100 } from './migrations/1732300007100-cluster-labels-tokens-audit.js';
import { ClusterRequestsProgressOrder1732300015300 } from './migrations/1732300015300-cluster-requests-progress-order.js';
import { ClusterAccess1732300016100 } from './migrations/1732300016100-cluster-access.js';
import { DeadLetters1732300017300 } from './migrations/1732300017300-dead-letters.js';
import { ClusterOverviewOrder1732300017400 } from './migrations/1732300017400-cluster-overview-order.js';
import { ClusterCounts1732300017500 } from './migrations/1732300017500-cluster-counts.js';
import { ClusterCountsFleet1732300017600 } from './migrations/1732300017600-cluster-counts-fleet.js';
import { ClusterVersionIndex1732300017700 } from './migrations/1732300017700-cluster-version-index.js';
import { ClusterRegion1732300017800 } from './migrations/1732300017800-cluster-region.js';
import { ClusterOrderCovering1732300017900 } from './migrations/1732300017900-cluster-order-covering.js';
import { DeadLetterIndexConsumer } from './dead-letters/dead-letter-index.consumer.js';
import { DeadLetterReplay } from './dead-letters/dead-letter-replay.js';
import { DeadLettersController } from './dead-letters/dead-letters.controller.js';
import { FleetGauge } from './metrics/fleet-gauge.js';
import { ClusterListing } from './repositories/cluster-listing.js';
import { ClusterRepository } from './repositories/cluster.repository.js';
import { FleetCounts } from './repositories/fleet-counts.js';
import { TokenIssuer } from './tokens/token-issuer.js';
import { TokensController } from './tokens/tokens.controller.js';
import { FleetCountsCompactor } from './workers/fleet-counts-compactor.js';

@Module({})
export class InventoryModule {
  static register(config: InventoryConfig): DynamicModule {
    return {
      module: InventoryModule,
      imports: [
        ServiceKitModule.forRoot({
          service: 'inventory',
          config,
          migrations: [InventoryTables1732300001000, ...secretsMigrations, ClusterLabelsTokensAudit1732300007100, ClusterRequestsProgressOrder1732300015300, ClusterAccess1732300016100, DeadLetters1732300017300, ClusterOverviewOrder1732300017400, ClusterCounts1732300017500, ClusterCountsFleet1732300017600, ClusterVersionIndex1732300017700, ClusterRegion1732300017800, ClusterOrderCovering1732300017900],
          entities: [ClusterEntity, ClusterEventEntity, ...secretsEntities],
        }),
        SecretsModule.forRoot({ keys: config.SECRETS_KEYS }),
        PolicyModule.forRoot({ naming: { prefix: config.BUS_PREFIX } }),
      ],
      controllers: [FleetProjectionHandler, ClustersController, OverviewController, TokensController, AuditController, DeadLettersController],
      providers: [ClusterRepository, ClusterListing, FleetCounts, FleetCountsCompactor, TokenIssuer, FleetAuditConsumer, DeadLetterIndexConsumer, DeadLetterReplay, FleetGauge, { provide: AUDIT_STREAM_OPTIONS, useValue: { prefix: config.BUS_PREFIX, replicas: config.BUS_REPLICAS, placement: streamPlacement(config), streamMaxBytes: config.BUS_STREAM_MAX_BYTES } }],
    };
  }
}
