import type { Server } from 'node:http';
import { apiDocument, type ServiceDefinition } from '@flotilla/service-kit';
import { SwaggerModule } from '@nestjs/swagger';
import { ClusterProxy } from './access/cluster-proxy.js';
import { ImporterConfig } from './config.js';
import { ImporterModule } from './importer.module.js';

/** Everything needed to run the importer: used by main.ts and by tests. */
export const importerService: ServiceDefinition<typeof ImporterConfig> = {
  name: 'importer',
  config: ImporterConfig,
  module: (config) => ImporterModule.register(config),
  configureHttp: (app) => {
    // Before body parsing: proxied bodies stream through as they come.
    const proxy = app.get(ClusterProxy);
    app.use(proxy.middleware());
    (app.getHttpServer() as Server).on('upgrade', proxy.onUpgrade);
    const document = apiDocument(app, { title: 'Flotilla importer', description: 'Connected clusters: import requests, their state and tunnels' });
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  },
};
