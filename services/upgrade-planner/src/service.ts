import type { ServiceDefinition } from '@flotilla/service-kit';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { UpgradePlannerConfig } from './config.js';
import { UpgradePlannerModule } from './upgrade-planner.module.js';

/** Everything needed to run the upgrade planner: used by main.ts and by tests. */
export const upgradePlannerService: ServiceDefinition<typeof UpgradePlannerConfig> = {
  name: 'upgrade-planner',
  config: UpgradePlannerConfig,
  module: (config) => UpgradePlannerModule.register(config),
  configureHttp: (app) => {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Flotilla upgrade planner')
        .setDescription('Global-upgrade plans under the support matrix, recomputed as the fleet and the matrix change')
        .setVersion('1')
        .build(),
    );
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  },
};
