import type { Server } from 'node:http';
import { apiDocument, type ServiceDefinition } from '@flotilla/service-kit';
import { SwaggerModule } from '@nestjs/swagger';
import { TunnelBrokerConfig } from './config.js';
import { TunnelProxy } from './proxy/tunnel-proxy.js';
import { TunnelBrokerModule } from './tunnel-broker.module.js';

/** Everything needed to run the tunnel broker: used by main.ts and by tests. */
export const tunnelBrokerService: ServiceDefinition<typeof TunnelBrokerConfig> = {
  name: 'tunnel-broker',
  config: TunnelBrokerConfig,
  module: (config) => TunnelBrokerModule.register(config),
  configureHttp: (app) => {
    // Before body parsing: proxied bodies stream through as they come.
    const proxy = app.get(TunnelProxy);
    app.use(proxy.middleware());
    (app.getHttpServer() as Server).on('upgrade', proxy.onUpgrade);
    const document = apiDocument(app, {
      title: 'Flotilla tunnel broker',
      description: "Reverse tunnels to clusters the global side cannot reach: agents enroll and connect; operators and services use the clusters' Kubernetes API through them",
    });
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  },
};
