import { runService } from '@flotilla/service-kit';
import { upgradePlannerService } from './service.js';

await runService(upgradePlannerService);
