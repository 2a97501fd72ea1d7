import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { UpgradePlanRequested, type EventOf } from '@flotilla/contracts';
import { OnEvent } from '@flotilla/messaging';
import { PlanService } from '../planning/plan.service.js';

/**
 * Plan requests from the bus: the subject is the plan id. The plan, its first revision and the
 * UpgradePlanned announcing it commit with the request's inbox claim.
 */
@Controller()
export class PlanRequestsHandler {
  constructor(@Inject(PlanService) private readonly plans: PlanService) {}

  @OnEvent(UpgradePlanRequested)
  async requested(@Payload() event: EventOf<typeof UpgradePlanRequested>): Promise<void> {
    // A PlannerError('matrix-behind') is transient: the event is retried once the bucket catches up.
    await this.plans.request(event.subject, event.data, 'event');
  }
}
