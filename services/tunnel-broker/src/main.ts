import { runService } from '@flotilla/service-kit';
import { tunnelBrokerService } from './service.js';

await runService(tunnelBrokerService);
