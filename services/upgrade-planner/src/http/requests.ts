import { UpgradePlanRequested } from '@flotilla/contracts';
import { z } from 'zod';

/** POST /api/v1/upgrade-plans: the same fields as the UpgradePlanRequested event. */
export const CreatePlanBody = UpgradePlanRequested.data;
export type CreatePlanBody = z.infer<typeof CreatePlanBody>;

export const RevisionQuery = z.object({
  revision: z.coerce.number().int().min(1).optional().describe('A past revision; the current one when absent'),
});
export type RevisionQuery = z.infer<typeof RevisionQuery>;

export const FleetQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).optional().describe('nextCursor of the previous page'),
});
export type FleetQuery = z.infer<typeof FleetQuery>;
