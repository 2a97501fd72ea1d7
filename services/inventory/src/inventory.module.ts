import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceKitModule } from '@flotilla/service-kit';
import type { InventoryConfig } from './config.js';
import { ClusterEventEntity } from './entities/cluster-event.entity.js';
import { ClusterEntity } from './entities/cluster.entity.js';
import { FleetProjectionHandler } from './handlers/fleet-projection.handler.js';
import { ClustersController } from './http/clusters.controller.js';
import { InventoryTables1732300001000 } from './migrations/1732300001000-inventory-tables.js';
import { ClusterRepository } from './repositories/cluster.repository.js';

@Module({})
export class InventoryModule {
  static register(config: InventoryConfig): DynamicModule {
    return {
      module: InventoryModule,
      imports: [ServiceKitModule.forRoot({ service: 'inventory', config, migrations: [InventoryTables1732300001000], entities: [ClusterEntity, ClusterEventEntity] })],
      controllers: [FleetProjectionHandler, ClustersController],
      providers: [ClusterRepository],
    };
  }
}
