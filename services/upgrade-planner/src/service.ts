import { apiDocument, type ServiceDefinition } from '@flotilla/service-kit';
import { SwaggerModule } from '@nestjs/swagger';
import { UpgradePlannerConfig } from './config.js';
import { UpgradePlannerModule } from './upgrade-planner.module.js';

/** Everything needed to run the upgrade planner: used by main.ts and by tests. */
export const upgradePlannerService: ServiceDefinition<typeof UpgradePlannerConfig> = {
  name: 'upgrade-planner',
  config: UpgradePlannerConfig,
  module: (config) => UpgradePlannerModule.register(config),
  configureHttp: (app) => {
    const document = apiDocument(app, { title: 'Flotilla upgrade planner', description: 'Global-upgrade plans under the support matrix, recomputed as the fleet and the matrix change' });
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  },
};
