import { apiDocument, type ServiceDefinition } from '@flotilla/service-kit';
import { SwaggerModule } from '@nestjs/swagger';
import { InventoryConfig } from './config.js';
import { operatorsDocument } from './http/openapi.js';
import { InventoryModule } from './inventory.module.js';

/** Everything needed to run the inventory: used by main.ts and by tests. */
export const inventoryService: ServiceDefinition<typeof InventoryConfig> = {
  name: 'inventory',
  config: InventoryConfig,
  module: (config) => InventoryModule.register(config),
  configureHttp: (app) => {
    const document = apiDocument(app, { title: 'Flotilla inventory', description: "The fleet read model and the operators' API" });
    // /api/docs documents every service's API: the entry point routes it here.
    SwaggerModule.setup('api/docs', app, operatorsDocument(document), { jsonDocumentUrl: 'api/docs/openapi.json' });
  },
};
