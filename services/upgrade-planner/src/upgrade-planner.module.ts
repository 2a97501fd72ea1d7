import { Module, type DynamicModule } from '@nestjs/common';
import { streamPlacement } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { PolicyInForce, ServiceKitModule } from '@flotilla/service-kit';
import { supportMatrixBucket, UPGRADE_PLANNER_CONFIG, type UpgradePlannerConfig } from './config.js';
import { FleetClusterEntity } from './entities/fleet-cluster.entity.js';
import { PlanRevisionEntity } from './entities/plan-revision.entity.js';
import { PlanEntity } from './entities/plan.entity.js';
import { FleetFactsHandler } from './handlers/fleet-facts.handler.js';
import { PlanRequestsHandler } from './handlers/plan-requests.handler.js';
import { FleetController } from './http/fleet.controller.js';
import { SupportMatrixController } from './http/support-matrix.controller.js';
import { UpgradePlansController } from './http/upgrade-plans.controller.js';
import { UpgradePlannerTables1732300004000 } from './migrations/1732300004000-upgrade-planner-tables.js';
import { PlanToVersion1732300015600 } from './migrations/1732300015600-plan-to-version.js';
import { FleetUpgraded1732300023000 } from './migrations/1732300023000-fleet-upgraded.js';
import { FleetView } from './planning/fleet-view.js';
import { PlanService } from './planning/plan.service.js';
import { RecomputeScheduler } from './planning/recompute.scheduler.js';
import { PlatformReleaseSeed } from './planning/platform-release.seed.js';
import { SupportMatrixStore } from './planning/support-matrix.store.js';
import { FleetRepository } from './repositories/fleet.repository.js';
import { PlanRepository } from './repositories/plan.repository.js';
import { SupportMatrixBucket } from './repositories/support-matrix.bucket.js';

@Module({})
export class UpgradePlannerModule {
  static register(config: UpgradePlannerConfig): DynamicModule {
    return {
      module: UpgradePlannerModule,
      imports: [
        ServiceKitModule.forRoot({
          service: 'upgrade-planner',
          config,
          migrations: [UpgradePlannerTables1732300004000, PlanToVersion1732300015600, FleetUpgraded1732300023000],
          entities: [FleetClusterEntity, PlanEntity, PlanRevisionEntity],
        }),
      ],
      controllers: [FleetFactsHandler, PlanRequestsHandler, UpgradePlansController, SupportMatrixController, FleetController],
      providers: [
        { provide: UPGRADE_PLANNER_CONFIG, useValue: config },
        {
          provide: SupportMatrixBucket,
          inject: [BusConnection],
          useFactory: (bus: BusConnection) => new SupportMatrixBucket(bus, { bucket: supportMatrixBucket(config), history: config.SUPPORT_MATRIX_HISTORY, replicas: config.BUS_REPLICAS, placement: streamPlacement(config) }),
        },
        FleetRepository,
        PlanRepository,
        SupportMatrixStore,
        {
          // The shared reader every service runs, here over the bucket the planner makes first.
          provide: PolicyInForce,
          inject: [BusConnection, SupportMatrixBucket],
          useFactory: async (bus: BusConnection, bucket: SupportMatrixBucket) => {
            await bucket.ensure();
            return new PolicyInForce(bus, { naming: { prefix: config.BUS_PREFIX }, bucket: bucket.bucket });
          },
        },
        PlatformReleaseSeed,
        FleetView,
        PlanService,
        RecomputeScheduler,
      ],
    };
  }
}
