import { apiDocument, type ServiceDefinition } from '@flotilla/service-kit';
import { SwaggerModule } from '@nestjs/swagger';
import { ProvisionerConfig } from './config.js';
import { ProvisionerModule } from './provisioner.module.js';

/** The provisioner as runService starts it: main.ts in production, startTestService in tests. */
export const provisionerService: ServiceDefinition<typeof ProvisionerConfig> = {
  name: 'provisioner',
  config: ProvisionerConfig,
  module: (config) => ProvisionerModule.register(config),
  configureHttp: (app) => {
    const document = apiDocument(app, { title: 'Flotilla provisioner', description: 'Cluster and machine lifecycle of platform-managed clusters' });
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  },
};
