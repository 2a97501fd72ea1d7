import { Body, ConflictException, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { clusterIdFor, ClusterRequested } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import { CLUSTER_STATUSES, type ClusterView } from '../domain/cluster-view.js';
import type { ClusterEventEntity } from '../entities/cluster-event.entity.js';
import { ClusterRepository, type ClusterPage } from '../repositories/cluster.repository.js';
import { CreateClusterBody, ListClustersQuery } from './cluster-requests.js';

const bodySchema = z.toJSONSchema(CreateClusterBody, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;

@ApiTags('clusters')
@Controller('api/v1/clusters')
export class ClustersController {
  constructor(
    @Inject(ClusterRepository) private readonly clusters: ClusterRepository,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List the fleet, filtered by model and status, a page at a time' })
  @ApiQuery({ name: 'model', required: false, enum: ['platform-provisioned', 'user-provisioned', 'hosted-control-plane', 'connected'] })
  @ApiQuery({ name: 'status', required: false, enum: CLUSTER_STATUSES })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  async list(@Query(new ZodValidationPipe(ListClustersQuery)) query: ListClustersQuery): Promise<ClusterPage> {
    return this.clusters.list({ ...(query.model ? { model: query.model } : {}), ...(query.status ? { status: query.status } : {}) }, query.limit, query.cursor);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One cluster: its state, nodes and the history of events about it (with their trace ids)' })
  @ApiParam({ name: 'id' })
  @ApiResponse({ status: 404, description: 'No such cluster' })
  async get(@Param('id') id: string): Promise<ClusterView & { history: Omit<ClusterEventEntity, 'clusterId'>[] }> {
    const cluster = await this.clusters.find(id);
    if (!cluster) throw new NotFoundException(`cluster "${id}" not found`);
    const history = (await this.clusters.history(id)).map(({ clusterId: _clusterId, ...entry }) => entry);
    return { ...cluster, history };
  }

  /**
   * Validates the request and emits ClusterRequested through the outbox; the provisioner takes
   * it from there. The cluster appears at once as Pending, and its id can never be taken twice.
   */
  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Request a new platform-managed cluster' })
  @ApiBody({ schema: bodySchema })
  @ApiResponse({ status: 202, description: 'Accepted: provisioning follows asynchronously' })
  @ApiResponse({ status: 400, description: 'Invalid request: every bad field is named' })
  @ApiResponse({ status: 409, description: 'A cluster with that id exists' })
  async create(@Body(new ZodValidationPipe(CreateClusterBody)) body: CreateClusterBody): Promise<{ id: string; status: 'Pending'; href: string }> {
    const { id: requestedId, ...spec } = body;
    const id = requestedId ?? clusterIdFor(spec.name);
    await this.unitOfWork.run(async () => {
      const now = new Date().toISOString();
      const created = await this.clusters.insertIfAbsent({
        id,
        name: spec.name,
        model: spec.model,
        status: 'Pending',
        kubernetesVersion: spec.kubernetesVersion,
        distribution: null,
        nodes: [],
        reasons: [],
        warnings: [],
        reachable: null,
        tunnel: null,
        lastEventTime: now,
      });
      if (!created) throw new ConflictException(`cluster "${id}" already exists`);
      this.unitOfWork.emit(ClusterRequested, id, spec);
    });
    return { id, status: 'Pending', href: `/api/v1/clusters/${id}` };
  }
}
