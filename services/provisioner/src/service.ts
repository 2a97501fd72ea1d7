import type { ServiceDefinition } from '@flotilla/service-kit';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ProvisionerConfig } from './config.js';
import { ProvisionerModule } from './provisioner.module.js';

/** The provisioner as runService starts it: main.ts in production, startTestService in tests. */
export const provisionerService: ServiceDefinition<typeof ProvisionerConfig> = {
  name: 'provisioner',
  config: ProvisionerConfig,
  module: (config) => ProvisionerModule.register(config),
  configureHttp: (app) => {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle('Flotilla provisioner').setDescription('Cluster and machine lifecycle of platform-managed clusters').setVersion('1').build(),
    );
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  },
};
