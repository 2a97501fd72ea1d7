import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { UpgradePlanRequested, type EventOf } from '@flotilla/contracts';
import { OnEvent, PermanentError } from '@flotilla/messaging';
import { PlannerError } from '../domain/errors.js';
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
    // An impossible request never becomes a plan: it is dead-lettered with the reason.
    try {
      await this.plans.request(event.subject, event.data, 'event');
    } catch (error) {
      if (error instanceof PlannerError && error.code === 'plan-impossible') throw new PermanentError(error.message, error.problem?.code ?? error.code);
      throw error;
    }
  }
}
