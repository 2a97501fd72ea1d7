import type { ServiceDefinition } from '@flotilla/service-kit';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ImporterConfig } from './config.js';
import { ImporterModule } from './importer.module.js';

/** Everything needed to run the importer: used by main.ts and by tests. */
export const importerService: ServiceDefinition<typeof ImporterConfig> = {
  name: 'importer',
  config: ImporterConfig,
  module: (config) => ImporterModule.register(config),
  configureHttp: (app) => {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle('Flotilla importer').setDescription('Connected clusters: import requests, their state and tunnels').setVersion('1').build(),
    );
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  },
};
