import { Controller, Delete, Get, NotFoundException, Patch, Post, Put } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiRelayedKubernetes } from '@flotilla/service-kit';

const answeredByProxy = (): never => {
  // ClusterProxy answers every request under this path before routing; reaching here is a wiring fault.
  throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: "the importer's proxy is not wired in front of the routes" });
};

/** The proxy's refusals before a request reaches the cluster. */
const ProxyRefusals = () =>
  ApiErrors({
    404: 'code cluster-not-found, or tunnel-cluster: the cluster is reached through its tunnel (/api/v1/tunnels/{id}/k8s)',
    409: 'code cluster-not-imported: it is being imported or was rejected',
    502: "The cluster's API server could not be reached with the stored credential (credential-not-found, credential-server-mismatch, api-server-unreachable...)",
  });

/**
 * The proxy's place in the API: its description and the access it enforces. Requests never reach
 * these handlers: ClusterProxy takes them first, so bodies stream through untouched.
 */
@ApiTags('connected-clusters')
@Controller('api/v1/connected-clusters/:id/k8s')
export class ClusterProxyController {
  @Get('*path')
  @Access('viewer')
  @ApiOperation({
    summary: "Read a directly reachable connected cluster's Kubernetes API through Flotilla (get, list, watch, logs): kubectl --server https://<flotilla>/api/v1/connected-clusters/<id>/k8s",
    description: "Forwarded with the importer's stored credential, to the API server it is bound to. Viewers read everything but secrets (operator). Exec, attach and port-forward (HTTP upgrades of GET or POST, WebSocket or SPDY) need the operator role and are relayed byte for byte.",
  })
  @ApiParam({ name: 'id' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path, e.g. api/v1/namespaces/default/pods' })
  @ApiRelayedKubernetes('read')
  @ProxyRefusals()
  read(): never {
    return answeredByProxy();
  }

  @Post('*path')
  @Access('operator')
  @ApiOperation({ summary: "Create through a connected cluster's Kubernetes API" })
  @ApiParam({ name: 'id' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ApiRelayedKubernetes('create')
  @ProxyRefusals()
  create(): never {
    return answeredByProxy();
  }

  @Put('*path')
  @Access('operator')
  @ApiOperation({ summary: "Replace through a connected cluster's Kubernetes API" })
  @ApiParam({ name: 'id' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ApiRelayedKubernetes('replace')
  @ProxyRefusals()
  replace(): never {
    return answeredByProxy();
  }

  @Patch('*path')
  @Access('operator')
  @ApiOperation({ summary: "Patch through a connected cluster's Kubernetes API" })
  @ApiParam({ name: 'id' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ApiRelayedKubernetes('patch')
  @ProxyRefusals()
  patch(): never {
    return answeredByProxy();
  }

  @Delete('*path')
  @Access('operator')
  @ApiOperation({ summary: "Delete through a connected cluster's Kubernetes API" })
  @ApiParam({ name: 'id' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ApiRelayedKubernetes('delete')
  @ProxyRefusals()
  remove(): never {
    return answeredByProxy();
  }
}
