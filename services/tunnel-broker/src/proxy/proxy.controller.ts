import { Controller, Delete, Get, NotFoundException, Patch, Post, Put } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiRelayedKubernetes } from '@flotilla/service-kit';

const answeredByProxy = (): never => {
  // TunnelProxy answers every request under this path before routing; reaching here is a wiring fault.
  throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: 'the tunnel proxy is not wired in front of the routes' });
};

/** The broker's refusals before a request reaches the cluster. */
const ProxiedAnswers = () =>
  ApiErrors({
    404: 'code cluster-not-found: no cluster of this id is registered for a tunnel',
    502: 'code replica-unreachable: the broker replica holding the agent did not answer',
    503: "code tunnel-down: the cluster's agent is not connected to any broker replica",
  });

/**
 * The proxy's place in the API: its description and the access it enforces. Requests never reach
 * these handlers: TunnelProxy takes them first, so bodies and upgrades stream through untouched.
 */
@ApiTags('tunnels')
@Controller('api/v1/tunnels/:clusterId/k8s')
export class ProxyController {
  @Get('*path')
  @Access('viewer', { scoped: true })
  @ApiOperation({
    summary: "Read the cluster's Kubernetes API through its tunnel (get, list, watch, logs): kubectl --server https://<flotilla>/api/v1/tunnels/<clusterId>/k8s",
    description: 'Relayed to the agent, which forwards it impersonating the caller (user = token subject, group flotilla:<role>). Exec, attach and port-forward (HTTP upgrades) need the operator role.',
  })
  @ApiParam({ name: 'clusterId' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path, e.g. api/v1/namespaces/default/pods' })
  @ApiRelayedKubernetes('read')
  @ProxiedAnswers()
  read(): never {
    return answeredByProxy();
  }

  @Post('*path')
  @Access('operator', { scoped: true })
  @ApiOperation({ summary: "Create through the cluster's Kubernetes API; also exec, attach and port-forward (HTTP upgrades of GET or POST)" })
  @ApiParam({ name: 'clusterId' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ApiRelayedKubernetes('create')
  @ProxiedAnswers()
  create(): never {
    return answeredByProxy();
  }

  @Put('*path')
  @Access('operator', { scoped: true })
  @ApiOperation({ summary: "Replace through the cluster's Kubernetes API" })
  @ApiParam({ name: 'clusterId' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ApiRelayedKubernetes('replace')
  @ProxiedAnswers()
  replace(): never {
    return answeredByProxy();
  }

  @Patch('*path')
  @Access('operator', { scoped: true })
  @ApiOperation({ summary: "Patch through the cluster's Kubernetes API" })
  @ApiParam({ name: 'clusterId' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ApiRelayedKubernetes('patch')
  @ProxiedAnswers()
  patch(): never {
    return answeredByProxy();
  }

  @Delete('*path')
  @Access('operator', { scoped: true })
  @ApiOperation({ summary: "Delete through the cluster's Kubernetes API" })
  @ApiParam({ name: 'clusterId' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ApiRelayedKubernetes('delete')
  @ProxiedAnswers()
  remove(): never {
    return answeredByProxy();
  }
}
