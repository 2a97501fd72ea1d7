import { Controller, Get, Inject, NotFoundException, Param } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ClusterId } from '@flotilla/contracts';
import { ApiAnswer, ApiErrors, ApiPathParameters, ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import { PlacedControlPlaneAnswer, SavingsAnswer } from './hosted-answers.js';
import { HostedControlPlanePlacement, type PlacedControlPlane } from './hosted-control-plane-placement.js';
import { ManagementClusterRegistry } from './management-cluster-registry.js';
import type { SavingsReport } from './savings.js';

const ClusterPath = z.object({ clusterId: ClusterId });
type ClusterPath = z.infer<typeof ClusterPath>;

/** For operators: where a hosted control plane runs, what to apply there, and what hosting saves. */
@ApiTags('hosted control planes')
@Controller('api/v1/hosted-control-planes')
export class HostedControlPlanesController {
  constructor(
    @Inject(HostedControlPlanePlacement) private readonly placement: HostedControlPlanePlacement,
    @Inject(ManagementClusterRegistry) private readonly registry: ManagementClusterRegistry,
  ) {}

  // Declared before ':clusterId' so "savings" is never read as a cluster id.
  @Get('savings')
  @Access('viewer')
  @ApiOperation({ summary: 'Resources saved against dedicated control-plane machines: per control plane, per management cluster and in total, with utilisation' })
  @ApiAnswer(200, SavingsAnswer, 'Per control plane, per management cluster and in total')
  @ApiErrors({ 503: 'The placements cannot be read now (the database does not answer)' })
  async savings(): Promise<SavingsReport> {
    return this.registry.savings();
  }

  @Get(':clusterId')
  @Access('viewer')
  @ApiOperation({ summary: "A hosted cluster's control-plane placement and the TenantControlPlane to apply on its management cluster" })
  @ApiPathParameters(ClusterPath)
  @ApiAnswer(200, PlacedControlPlaneAnswer, 'The placement and its TenantControlPlane')
  @ApiErrors({ 400: 'The cluster id is not a DNS label', 404: 'No control plane is placed for that cluster' })
  async get(@Param(new ZodValidationPipe(ClusterPath)) path: ClusterPath): Promise<PlacedControlPlane> {
    const placed = await this.placement.find(path.clusterId);
    if (!placed) throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: `no hosted control plane is placed for cluster "${path.clusterId}"` });
    return placed;
  }
}
