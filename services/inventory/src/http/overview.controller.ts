import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access, Caller, type Principal } from '@flotilla/auth';
import { ApiAnswer, ApiErrors } from '@flotilla/service-kit';
import type { FleetOverview } from '../domain/fleet-overview.js';
import { FleetCounts, NEEDING_ACTION_SHOWN } from '../repositories/fleet-counts.js';
import { FleetOverviewAnswer } from './overview-answer.js';

/** The fleet at a glance, for the dashboard's first page and `flotilla overview`. */
@ApiTags('clusters')
@Controller('api/v1/overview')
export class OverviewController {
  constructor(@Inject(FleetCounts) private readonly counts: FleetCounts) {}

  @Get()
  @Access('viewer', { scoped: true })
  @ApiOperation({
    summary: "The fleet's counts and the clusters needing action",
    description: [
      'A label-scoped caller gets the counts of the clusters of its scope only. The counts are maintained as the inventory projects events and exact when read: no call counts the fleet or its nodes.',
      '',
      '```',
      '{',
      '  "clusters": 1200,                  // clusters not deleted; every count below but byStatus.Deleted is of those',
      '  "byModel": { "platform-provisioned": 700, "user-provisioned": 100, "hosted-control-plane": 100, "connected": 300, "unknown": 0 },',
      '  "byStatus": { "Pending": 0, "Provisioning": 5, "Running": 1180, "Failed": 10, "Importing": 2, "Rejected": 3, "Deleted": 40 },',
      '  "byProvider": { "sim": 800, "eks": 120, "cncf": 180, "unknown": 100 },   // infrastructure or import provider; unknown: none named (users\' hosts)',
      '  "byKubernetesVersion": { "1.33": 200, "1.34": 990, "unknown": 10 },      // by minor; unknown: no version yet',
      '  "byAccess": { "direct": 1100, "tunnel": 90, "unknown": 10 },',
      '  "byTunnel": { "connected": 80, "disconnected": 6, "never-connected": 4 }, // the clusters reached through a tunnel',
      '  "nodes": { "total": 15000, "ready": 14950 },   // nodes the read model knows (platform-managed clusters), Ready ones',
      '  "needsAction": {',
      '    "total": 21,                        // clusters needing action for any reason, each once',
      '    "byReason": { "failed": 10, "unreachable": 3, "refused": 8, "tunnel-disconnected": 6 },',
      `    "clusters": [                       // the first ${NEEDING_ACTION_SHOWN} by id`,
      '      { "id": "edge-7", "name": "edge 7", "status": "Running", "reasons": ["tunnel-disconnected"], "message": null },',
      '      { "id": "prod-2", "name": "prod 2", "status": "Failed", "reasons": ["failed", "refused"], "message": "quota exceeded" }',
      '    ]',
      '  }',
      '}',
      '```',
      '',
      'Why a cluster needs action: `failed` (status Failed), `unreachable` (the platform cannot reach its API server), `refused` (its owner\'s latest word is a refusal: nothing happened since; `message` is its first reason), `tunnel-disconnected` (its tunnel is down). Deleted clusters never do. Every key of byModel, byStatus, byAccess, byTunnel and byReason is always present; byProvider and byKubernetesVersion hold the values the fleet has.',
    ].join('\n'),
  })
  @ApiAnswer(200, FleetOverviewAnswer, 'The counts, and the clusters needing action')
  @ApiErrors({ 503: 'The counts cannot be read now (the database does not answer)' })
  async overview(@Caller() caller: Principal): Promise<FleetOverview> {
    return this.counts.overview(caller.scope?.labels);
  }
}
