import { Controller, Get, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, ApiQueryParameters, ZodValidationPipe } from '@flotilla/service-kit';
import type { ConnectedCluster } from '../domain/connected-cluster.js';
import type { TunnelLink } from '../domain/tunnel-link.js';
import { ClusterTunnelRepository } from '../repositories/cluster-tunnel.repository.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';
import { ConnectedClusterAnswer, ConnectedClusterPageAnswer } from './answers.js';
import { ListConnectedClustersQuery } from './import-requests.js';

export type ConnectedClusterResource = Omit<ConnectedCluster, 'deletedAt'> & { tunnel: Omit<TunnelLink, 'clusterId'> | null };

function toResource(cluster: ConnectedCluster, tunnel: TunnelLink | undefined): ConnectedClusterResource {
  const { deletedAt: _deletedAt, ...rest } = cluster;
  const link = tunnel ? (({ clusterId: _clusterId, ...state }) => state)(tunnel) : null;
  return { ...rest, tunnel: link };
}

@ApiTags('connected-clusters')
@Controller('api/v1/connected-clusters')
export class ConnectedClustersController {
  constructor(
    @Inject(ConnectedClusterRepository) private readonly clusters: ConnectedClusterRepository,
    @Inject(ClusterTunnelRepository) private readonly tunnels: ClusterTunnelRepository,
  ) {}

  @Get()
  @Access('viewer')
  @ApiOperation({ summary: 'Connected clusters with their import state and tunnel, a page at a time' })
  @ApiQueryParameters(ListConnectedClustersQuery)
  @ApiAnswer(200, ConnectedClusterPageAnswer, 'A page of connected clusters')
  @ApiErrors({ 400: 'Invalid state, limit or cursor' })
  async list(@Query(new ZodValidationPipe(ListConnectedClustersQuery)) query: ListConnectedClustersQuery): Promise<{ items: ConnectedClusterResource[]; total: number; nextCursor: string | null }> {
    const page = await this.clusters.list(query.state, query.limit, query.cursor);
    const tunnels = await this.tunnels.findMany(page.items.map((cluster) => cluster.id));
    return { ...page, items: page.items.map((cluster) => toResource(cluster, tunnels.get(cluster.id))) };
  }

  @Get(':id')
  @Access('viewer')
  @ApiOperation({ summary: 'One connected cluster: state, reasons or warnings, last version, tunnel' })
  @ApiParam({ name: 'id' })
  @ApiAnswer(200, ConnectedClusterAnswer, 'The connected cluster')
  @ApiErrors({ 404: 'No such connected cluster (or it was deleted)' })
  async get(@Param('id') id: string): Promise<ConnectedClusterResource> {
    const cluster = await this.clusters.find(id);
    if (!cluster || cluster.deletedAt !== null) throw new NotFoundException(`connected cluster "${id}" not found`);
    const tunnels = await this.tunnels.findMany([id]);
    return toResource(cluster, tunnels.get(id));
  }
}
