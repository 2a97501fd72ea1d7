import { runService } from '@flotilla/service-kit';
import { provisionerService } from './service.js';

await runService(provisionerService);
