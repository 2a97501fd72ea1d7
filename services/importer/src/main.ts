import { runService } from '@flotilla/service-kit';
import { importerService } from './service.js';

await runService(importerService);
