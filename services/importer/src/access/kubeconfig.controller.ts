import { ConflictException, Controller, Get, Inject, NotFoundException, Param, Req, Res } from '@nestjs/common';
import { Access, auditRead, Caller, noteAuditTarget, type AuthenticatedRequest, type Principal } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, KubeconfigText } from '@flotilla/service-kit';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';
import { proxyPathOf, renderTokenKubeconfig } from './kubeconfig.js';
import { PUBLIC_ADDRESS, requestOrigin, type PublicAddress } from './public-address.js';

interface HeaderSettable {
  setHeader(name: string, value: string): unknown;
}

type KubeconfigRequest = AuthenticatedRequest & { socket?: { encrypted?: boolean } };

@ApiTags('connected-clusters')
@Controller('api/v1/connected-clusters')
export class ConnectedClusterKubeconfigController {
  constructor(
    @Inject(ConnectedClusterRepository) private readonly clusters: ConnectedClusterRepository,
    @Inject(PUBLIC_ADDRESS) private readonly publicAddress: PublicAddress,
  ) {}

  @Get(':id/kubeconfig')
  @Access('operator')
  @ApiOperation({
    summary: "A kubeconfig for a connected cluster, through Flotilla: the caller's own token, and Flotilla's proxy of the cluster's API",
    description:
      "server = Flotilla's public address (FLOTILLA_PUBLIC_URL, else the request's origin) + `/api/v1/tunnels/{id}/k8s` for a cluster registered behind a firewall (the tunnel broker's proxy), or `/api/v1/connected-clusters/{id}/k8s` (the importer's proxy, with the importer's stored credential); CA = FLOTILLA_PUBLIC_CA_FILE when set; user = the bearer token the caller presented, so the kubeconfig works as long as that token does. Audited (never the token). Also reached from GET /api/v1/clusters/{id}/kubeconfig (307).",
  })
  @ApiParam({ name: 'id' })
  @ApiAnswer(200, KubeconfigText, 'The kubeconfig (YAML)', 'application/yaml')
  @ApiErrors({ 404: 'No such connected cluster (or it was deleted)', 409: '`code` `cluster-not-imported`: it is being imported or was rejected' })
  async kubeconfig(@Caller() caller: Principal, @Req() request: KubeconfigRequest, @Res({ passthrough: true }) response: HeaderSettable, @Param('id') id: string): Promise<string> {
    auditRead(request);
    noteAuditTarget(request, id);
    const cluster = await this.clusters.find(id);
    if (!cluster || cluster.deletedAt !== null) throw new NotFoundException(`connected cluster "${id}" not found`);
    if (cluster.state !== 'Imported' && cluster.state !== 'Unreachable') {
      throw new ConflictException({ statusCode: 409, error: 'Conflict', code: 'cluster-not-imported', message: `connected cluster "${id}" is ${cluster.state}: a kubeconfig is given once it is imported` });
    }
    // The guard verified this token: the kubeconfig carries the caller's own credential, no other.
    const header = request.headers['authorization'];
    const token = (Array.isArray(header) ? header[0] : header)?.replace(/^Bearer\s+/i, '') ?? '';
    const path = proxyPathOf(cluster);
    const server = `${this.publicAddress.url ?? requestOrigin(request.headers, request.socket?.encrypted === true)}${path}`;
    response.setHeader('content-type', 'application/yaml; charset=utf-8');
    response.setHeader('cache-control', 'no-store');
    auditRead(request, `kubeconfig for ${caller.subject} with the token it presented, server ${server}`);
    return renderTokenKubeconfig({ clusterId: id, server, caCertificatePem: this.publicAddress.caCertificatePem, user: caller.subject, token });
  }
}
