import { runService } from '@flotilla/service-kit';
import { inventoryService } from './service.js';

await runService(inventoryService);
