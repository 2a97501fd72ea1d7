import type { ServiceDefinition } from '@flotilla/service-kit';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { TunnelBrokerConfig } from './config.js';
import { TunnelBrokerModule } from './tunnel-broker.module.js';

/** Everything needed to run the tunnel broker: used by main.ts and by tests. */
export const tunnelBrokerService: ServiceDefinition<typeof TunnelBrokerConfig> = {
  name: 'tunnel-broker',
  config: TunnelBrokerConfig,
  module: (config) => TunnelBrokerModule.register(config),
  configureHttp: (app) => {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle('Flotilla tunnel broker').setDescription('Tunnel sessions of agents in clusters the global side cannot reach').setVersion('1').build(),
    );
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  },
};
