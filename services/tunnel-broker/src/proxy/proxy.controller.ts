import { applyDecorators, Controller, Delete, Get, NotFoundException, Patch, Post, Put } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, ApiRequestBody } from '@flotilla/service-kit';
import { KubernetesAnswer, KubernetesObject, KubernetesPatch } from '../http/tunnel-answers.js';

const answeredByProxy = (): never => {
  // TunnelProxy answers every request under this path before routing; reaching here is a wiring fault.
  throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: 'the tunnel proxy is not wired in front of the routes' });
};

/** What every proxied route answers: the cluster's own answer, or the broker's refusal before it. */
const ProxiedAnswers = () =>
  applyDecorators(
    ApiAnswer(200, KubernetesAnswer, "The cluster's answer with its own status (201, 404, 409... as Kubernetes says), streamed"),
    ApiErrors({
      404: 'code cluster-not-found: no cluster of this id is registered for a tunnel',
      502: 'code replica-unreachable: the broker replica holding the agent did not answer',
      503: "code tunnel-down: the cluster's agent is not connected to any broker replica",
    }),
  );

const EXAMPLE_CONFIGMAP = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'default' }, data: { mode: 'edge' } };

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
  @ProxiedAnswers()
  read(): never {
    return answeredByProxy();
  }

  @Post('*path')
  @Access('operator', { scoped: true })
  @ApiOperation({ summary: "Create through the cluster's Kubernetes API; also exec, attach and port-forward (HTTP upgrades of GET or POST)" })
  @ApiParam({ name: 'clusterId' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ApiRequestBody(KubernetesObject, EXAMPLE_CONFIGMAP, { required: false })
  @ProxiedAnswers()
  create(): never {
    return answeredByProxy();
  }

  @Put('*path')
  @Access('operator', { scoped: true })
  @ApiOperation({ summary: "Replace through the cluster's Kubernetes API" })
  @ApiParam({ name: 'clusterId' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ApiRequestBody(KubernetesObject, EXAMPLE_CONFIGMAP)
  @ProxiedAnswers()
  replace(): never {
    return answeredByProxy();
  }

  @Patch('*path')
  @Access('operator', { scoped: true })
  @ApiOperation({ summary: "Patch through the cluster's Kubernetes API" })
  @ApiParam({ name: 'clusterId' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ApiRequestBody(KubernetesPatch, { data: { mode: 'edge' } })
  @ProxiedAnswers()
  patch(): never {
    return answeredByProxy();
  }

  @Delete('*path')
  @Access('operator', { scoped: true })
  @ApiOperation({ summary: "Delete through the cluster's Kubernetes API" })
  @ApiParam({ name: 'clusterId' })
  @ApiParam({ name: 'path', description: 'The Kubernetes API path' })
  @ProxiedAnswers()
  remove(): never {
    return answeredByProxy();
  }
}
