import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceKitModule } from '@flotilla/service-kit';
import { DataSource } from 'typeorm';
import { NODE_BOOTSTRAPPER } from './bootstrap/node-bootstrapper.js';
import { SimulatedBootstrapper } from './bootstrap/simulated.bootstrapper.js';
import { PROVISIONER_CONFIG, type ProvisionerConfig } from './config.js';
import { ClusterEntity } from './entities/cluster.entity.js';
import { MachineEntity } from './entities/machine.entity.js';
import { ClusterRequestedHandler } from './handlers/cluster-requested.handler.js';
import { ProvisionerClustersController } from './http/clusters.controller.js';
import { INFRASTRUCTURE_PROVIDER, type InfrastructureProvider } from './infrastructure/provider.js';
import { SimulatedProvider } from './infrastructure/simulated/simulated.provider.js';
import { ProvisionerTables1732300002000 } from './migrations/1732300002000-provisioner-tables.js';
import { SimulatedCloud1732300002100 } from './migrations/1732300002100-simulated-cloud.js';
import { MachineReconciler } from './reconciler/machine-reconciler.js';
import { ClusterRepository } from './repositories/cluster.repository.js';
import { IntegrationEvents } from './repositories/integration-events.js';
import { MachineQueue } from './repositories/machine-queue.repository.js';

function infrastructureProvider(config: ProvisionerConfig, dataSource: DataSource): InfrastructureProvider {
  switch (config.INFRA_PROVIDER) {
    case 'simulated':
      return new SimulatedProvider(dataSource, { bootMs: config.SIM_BOOT_MS, failureRate: config.SIM_FAILURE_RATE, apiErrorRate: config.SIM_API_ERROR_RATE, seed: config.SIM_SEED });
  }
}

@Module({})
export class ProvisionerModule {
  static register(config: ProvisionerConfig): DynamicModule {
    return {
      module: ProvisionerModule,
      imports: [
        ServiceKitModule.forRoot({
          service: 'provisioner',
          config,
          migrations: [ProvisionerTables1732300002000, SimulatedCloud1732300002100],
          entities: [ClusterEntity, MachineEntity],
        }),
      ],
      controllers: [ClusterRequestedHandler, ProvisionerClustersController],
      providers: [
        { provide: PROVISIONER_CONFIG, useValue: config },
        { provide: INFRASTRUCTURE_PROVIDER, inject: [DataSource], useFactory: (dataSource: DataSource) => infrastructureProvider(config, dataSource) },
        { provide: NODE_BOOTSTRAPPER, useFactory: () => new SimulatedBootstrapper() },
        ClusterRepository,
        MachineQueue,
        IntegrationEvents,
        MachineReconciler,
      ],
    };
  }
}
