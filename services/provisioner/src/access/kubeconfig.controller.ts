import { ConflictException, Controller, ForbiddenException, Get, Inject, NotFoundException, Param, Query, Req, Res } from '@nestjs/common';
import { Access, auditRead, Caller, forbidOutOfScope, inScope, type AuthenticatedRequest, type Principal } from '@flotilla/auth';
import { ApiAnswer, ApiErrors, ApiQueryParameters, KubeconfigText, ZodValidationPipe } from '@flotilla/service-kit';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ClusterRepository } from '../repositories/cluster.repository.js';
import { KubeconfigQuery } from './kubeconfig.js';
import { KubeconfigIssuer, KubeconfigRefusal, type KubeconfigRefusalCode } from './kubeconfig-issuer.js';

interface HeaderSettable {
  setHeader(name: string, value: string): unknown;
}

function refusalStatus(code: KubeconfigRefusalCode): number {
  switch (code) {
    case 'cluster-not-running':
    case 'no-api-endpoint':
    case 'cluster-ca-missing':
    case 'hosted-kubeconfig-unavailable':
      return 409;
    case 'hosted-admin-only':
      return 403;
  }
}

@ApiTags('provisioner')
@Controller('api/v1/provisioner/clusters')
export class KubeconfigController {
  constructor(
    @Inject(ClusterRepository) private readonly clusters: ClusterRepository,
    @Inject(KubeconfigIssuer) private readonly issuer: KubeconfigIssuer,
  ) {}

  @Get(':id/kubeconfig')
  @Access('operator', { scoped: true })
  @ApiOperation({
    summary: 'A kubeconfig for a cluster Flotilla built: a short-lived client certificate for the caller, signed by the cluster CA',
    description:
      'Subject CN = the caller, O = `flotilla:operator` (operators) or `flotilla:admin` and `kubeadm:cluster-admins` (admins); server = the cluster\'s API endpoint; CA = the cluster CA. The key is made for this answer and kept nowhere. Audited (the certificate\'s serial and expiry, never the key). A hosted control plane\'s kubeconfig is its admin kubeconfig, read from its management cluster (Kamaji\'s `<cluster>-admin-kubeconfig`) for each request and never stored; for admins only (403, code `hosted-admin-only`), and `ttl` does not apply. Also reached from GET /api/v1/clusters/{id}/kubeconfig (307).',
  })
  @ApiParam({ name: 'id' })
  @ApiQueryParameters(KubeconfigQuery)
  @ApiAnswer(200, KubeconfigText, 'The kubeconfig (YAML)', 'application/yaml')
  @ApiErrors({
    400: 'A bad ttl, named',
    404: 'The provisioner has no such cluster',
    409: 'No kubeconfig now, with `code`: `cluster-not-running`, `no-api-endpoint`, `cluster-ca-missing`, `hosted-kubeconfig-unavailable`',
  })
  async kubeconfig(
    @Caller() caller: Principal,
    @Req() request: AuthenticatedRequest,
    @Res({ passthrough: true }) response: HeaderSettable,
    @Param('id') id: string,
    @Query(new ZodValidationPipe(KubeconfigQuery)) query: KubeconfigQuery,
  ): Promise<string> {
    auditRead(request);
    const cluster = await this.clusters.find(id);
    if (!cluster) throw new NotFoundException(`cluster "${id}" not found`);
    if (!inScope(caller, cluster.spec.labels)) forbidOutOfScope(caller, id);
    try {
      const issued = await this.issuer.issue(cluster, caller, query.ttl);
      // Set on success only: refusals stay JSON. A credential is never cached on the way.
      response.setHeader('content-type', 'application/yaml; charset=utf-8');
      response.setHeader('cache-control', 'no-store');
      auditRead(request, issued.describe);
      return issued.kubeconfig;
    } catch (error) {
      if (!(error instanceof KubeconfigRefusal)) throw error;
      if (refusalStatus(error.code) === 409) throw new ConflictException({ statusCode: 409, error: 'Conflict', code: error.code, message: error.message });
      if (refusalStatus(error.code) === 403) throw new ForbiddenException({ statusCode: 403, error: 'Forbidden', code: error.code, message: error.message });
      throw error;
    }
  }
}
