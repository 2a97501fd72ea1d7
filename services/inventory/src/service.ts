import type { ServiceDefinition } from '@flotilla/service-kit';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { InventoryConfig } from './config.js';
import { operatorsDocument } from './http/openapi.js';
import { InventoryModule } from './inventory.module.js';

/** Everything needed to run the inventory: used by main.ts and by tests. */
export const inventoryService: ServiceDefinition<typeof InventoryConfig> = {
  name: 'inventory',
  config: InventoryConfig,
  module: (config) => InventoryModule.register(config),
  configureHttp: (app) => {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle('Flotilla inventory').setDescription("The fleet read model and the operators' API").setVersion('1').build(),
    );
    // /api/docs documents every service's API: the entry point routes it here.
    SwaggerModule.setup('api/docs', app, operatorsDocument(document), { jsonDocumentUrl: 'api/docs/openapi.json' });
  },
};
