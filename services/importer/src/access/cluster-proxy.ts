import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditTrail, AuthenticationError, roleAllows, TokenVerifier, type AuthenticatedRequest, type Principal, type Role } from '@flotilla/auth';
import { forwardableHeaders, isCallerCredential, kubernetesStatus } from '@flotilla/tunnel';
import { ClusterEndpoints, type ClusterEndpoint } from '../connectivity/cluster-access.js';
import { assertBound, bindingErrorIn, BoundAgent } from '../connectivity/credential-guard.js';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import { isTunnelRef } from '../domain/tunnel-cluster.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';

/** `/api/v1/connected-clusters/<id>/k8s/<Kubernetes API path>`: kubectl's `--server` is the part up to `k8s`. */
const PROXY_PATH = /^\/api\/v1\/connected-clusters\/([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)\/k8s(\/[^?#]*)?(\?[^#]*)?$/;
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Viewers read everything but secrets: core secrets, listed, read or watched, in one namespace or all. */
const SECRETS = /^\/api\/v1\/(watch\/)?(namespaces\/[^/]+\/)?secrets(\/|$)/;
const ENDPOINT_CACHE_MS = 60_000;
const RESOLVE_TIMEOUT_MS = 15_000;
const REALM = 'flotilla';

interface Refusal {
  status: number;
  code: string;
  message: string;
  challenge?: string;
}

type Admission = { ok: true; principal: Principal; clusterId: string; path: string } | { ok: false; refusal: Refusal; principal?: Principal; clusterId?: string };

interface Relayed {
  status: number;
  bytesIn: number;
  bytesOut: number;
  reason?: string;
}

/**
 * Operators use a directly reachable connected cluster's Kubernetes API through Flotilla: each
 * request is authenticated, authorised (viewer reads but secrets, operator everything else),
 * forwarded to the cluster's API server with the importer's stored credential (only to the
 * server it is bound to), and audited with its size and duration. The caller's own credentials
 * and impersonation headers never reach the cluster. Upgrades (exec, attach, port-forward) are
 * refused: they are not relayed by this proxy yet.
 */
@Injectable()
export class ClusterProxy {
  private readonly logger = new Logger(ClusterProxy.name);
  private readonly endpoints = new Map<string, { endpoint: ClusterEndpoint; until: number }>();

  constructor(
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(ConnectedClusterRepository) private readonly clusters: ConnectedClusterRepository,
    @Inject(CREDENTIAL_STORE) private readonly credentials: CredentialStore,
    @Inject(ClusterEndpoints) private readonly access: ClusterEndpoints,
    @Inject(AuditTrail) private readonly audit: AuditTrail,
  ) {}

  /** Express middleware, ahead of body parsing: bodies stream through untouched. */
  middleware(): (request: IncomingMessage, response: ServerResponse, next: () => void) => void {
    return (request, response, next) => {
      if (!PROXY_PATH.test(request.url ?? '')) return next();
      (request as IncomingMessage & AuthenticatedRequest).audit = { recordedByHandler: true };
      void this.relay(request, response).catch((error: unknown) => {
        this.logger.error({ msg: 'proxied request failed', err: error });
        if (!response.headersSent) respond(response, { status: 500, code: 'internal', message: 'the request could not be relayed' });
        else response.destroy();
      });
    };
  }

  /** For the HTTP server's `upgrade` event: exec, attach and port-forward are refused with a Status kubectl shows. */
  readonly onUpgrade = (request: IncomingMessage, socket: Duplex): void => {
    socket.on('error', () => undefined);
    const refusal = PROXY_PATH.test(request.url ?? '')
      ? { status: 501, code: 'upgrade-unsupported', message: "exec, attach and port-forward are not relayed by the importer's proxy yet" }
      : { status: 404, code: 'not-found', message: 'nothing to upgrade here' };
    const body = statusBody(refusal);
    socket.end(`HTTP/1.1 ${refusal.status} ${refusal.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  };

  private async relay(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const admission = await this.admit(request);
    let result: Relayed;
    if (!admission.ok) {
      respond(response, admission.refusal);
      result = { status: admission.refusal.status, bytesIn: 0, bytesOut: 0, reason: admission.refusal.message };
    } else {
      const endpoint = await this.endpointOf(admission.clusterId);
      if ('refusal' in endpoint) {
        respond(response, endpoint.refusal);
        result = { status: endpoint.refusal.status, bytesIn: 0, bytesOut: 0, reason: endpoint.refusal.message };
      } else result = await forward(endpoint, request, response, admission.path);
    }
    void this.audit.recordRequest({
      principal: admission.principal,
      method: request.method ?? 'GET',
      route: (request.url ?? '').split('?')[0]!,
      ...(admission.clusterId ? { clusterId: admission.clusterId } : {}),
      status: result.status,
      ...(result.reason ? { reason: result.reason } : {}),
      bytesIn: result.bytesIn,
      bytesOut: result.bytesOut,
      durationMs: performance.now() - started,
    });
  }

  /** Who asks, for which cluster and path, and whether they may. */
  private async admit(request: IncomingMessage): Promise<Admission> {
    const [, clusterId, path, query] = PROXY_PATH.exec(request.url ?? '') ?? [];
    if (!clusterId) return { ok: false, refusal: { status: 404, code: 'not-found', message: 'not a proxy path' } };
    let principal: Principal;
    try {
      principal = await this.verifier.authenticate(firstHeader(request.headers.authorization));
    } catch (error) {
      const reason = error instanceof AuthenticationError ? error.message : 'token could not be verified';
      const challenge = request.headers.authorization ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`;
      return { ok: false, clusterId, refusal: { status: 401, code: 'unauthenticated', message: reason, challenge } };
    }
    const apiPath = path ?? '/';
    const reading = READS.has(request.method ?? 'GET');
    const needed: Role = reading && !SECRETS.test(apiPath) ? 'viewer' : 'operator';
    if (!roleAllows(principal.role, needed)) {
      const what = reading ? 'reading secrets' : `${request.method ?? 'this'} requests`;
      return { ok: false, principal, clusterId, refusal: { status: 403, code: 'forbidden', message: `${what} through Flotilla: this needs the ${needed} role; ${principal.subject} has ${principal.role}` } };
    }
    // Connected clusters carry no labels in the importer: a label-scoped caller cannot be checked here.
    if (principal.scope) return { ok: false, principal, clusterId, refusal: { status: 403, code: 'forbidden', message: `${principal.subject} may act only on labelled clusters; the importer's proxy is not limited to such clusters` } };
    return { ok: true, principal, clusterId, path: `${apiPath}${query ?? ''}` };
  }

  /** The cluster's endpoint with the importer's credential, kept a minute (a cloud account's token is minted per resolve). */
  private async endpointOf(clusterId: string): Promise<ClusterEndpoint | { refusal: Refusal }> {
    const cluster = await this.clusters.find(clusterId);
    if (!cluster || cluster.deletedAt !== null) return { refusal: { status: 404, code: 'cluster-not-found', message: `no connected cluster "${clusterId}"` } };
    if (isTunnelRef(cluster.credentialRef)) return { refusal: { status: 404, code: 'tunnel-cluster', message: `cluster "${clusterId}" is reached through its tunnel: use /api/v1/tunnels/${clusterId}/k8s` } };
    if (cluster.state !== 'Imported' && cluster.state !== 'Unreachable') return { refusal: { status: 409, code: 'cluster-not-imported', message: `connected cluster "${clusterId}" is ${cluster.state}` } };
    const cached = this.endpoints.get(clusterId);
    if (cached && cached.until > Date.now()) return cached.endpoint;
    const credential = await this.credentials.find(cluster.credentialRef);
    if (!credential) return { refusal: { status: 502, code: 'credential-not-found', message: `the importer holds no credential "${cluster.credentialRef}" for cluster "${clusterId}" any more` } };
    const resolved = await this.access.resolve({ clusterId, provider: cluster.provider, apiServer: cluster.apiServer, cloud: cluster.cloud, credential }, AbortSignal.timeout(RESOLVE_TIMEOUT_MS));
    if (!resolved.ok) return { refusal: { status: 502, code: resolved.failures[0]?.code ?? 'api-server-unreachable', message: resolved.failures.map((failure) => failure.message).join('; ') } };
    const expiresAt = resolved.endpoint.expiresAt === null ? Infinity : Date.parse(resolved.endpoint.expiresAt) - 60_000;
    if (this.endpoints.size > 10_000) this.endpoints.clear();
    this.endpoints.set(clusterId, { endpoint: resolved.endpoint, until: Math.min(Date.now() + ENDPOINT_CACHE_MS, expiresAt) });
    return resolved.endpoint;
  }
}

/** One request to the API server the credential is bound to, streamed both ways. */
async function forward(endpoint: ClusterEndpoint, request: IncomingMessage, response: ServerResponse, path: string): Promise<Relayed> {
  try {
    assertBound(endpoint);
  } catch (error) {
    const refused = bindingErrorIn(error);
    const refusal = { status: 502, code: refused?.code ?? 'credential-server-mismatch', message: refused?.message ?? 'the credential is not bound to this API server' };
    respond(response, refusal);
    return { status: 502, bytesIn: 0, bytesOut: 0, reason: refusal.message };
  }
  const { auth } = endpoint;
  const agent = new BoundAgent(endpoint.boundTo, endpoint.credentialRef, {
    keepAlive: false,
    ...(endpoint.caCertificatePem === null ? {} : { ca: endpoint.caCertificatePem }),
    ...(auth.kind === 'client-certificate' ? { cert: auth.certificatePem, key: auth.privateKey.revealString() } : {}),
  });
  // The caller's credentials and impersonation never reach the cluster.
  const headers: OutgoingHttpHeaders = forwardableHeaders(request.headers, isCallerCredential);
  if (auth.kind === 'bearer-token') headers['authorization'] = `Bearer ${auth.token.revealString()}`;
  let bytesIn = 0;
  let bytesOut = 0;
  return new Promise<Relayed>((resolve) => {
    const upstream = httpsRequest(`${endpoint.apiServer.replace(/\/+$/, '')}${path}`, { method: request.method ?? 'GET', headers, agent }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, forwardableHeaders(answer.headers));
      response.flushHeaders();
      answer.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
      answer.pipe(response);
      answer.on('end', () => resolve({ status: answer.statusCode ?? 502, bytesIn, bytesOut }));
      answer.on('error', () => resolve({ status: answer.statusCode ?? 502, bytesIn, bytesOut, reason: 'the API server broke off its answer' }));
    });
    upstream.on('error', (error) => {
      const refused = bindingErrorIn(error);
      const refusal = { status: 502, code: refused?.code ?? 'api-server-unreachable', message: refused?.message ?? `${endpoint.apiServer} did not answer (${(error as NodeJS.ErrnoException).code ?? error.message})` };
      if (!response.headersSent) respond(response, refusal);
      else response.destroy();
      resolve({ status: 502, bytesIn, bytesOut, reason: refusal.message });
    });
    // A caller who leaves (a watch ended with Ctrl-C) ends the call at the API server.
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
    request.pipe(upstream);
  });
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Refusals as Kubernetes Status objects (kubectl shows the message), with the code as the cause. */
function statusBody(refusal: Refusal): string {
  return JSON.stringify({ ...kubernetesStatus(refusal), details: { causes: [{ reason: refusal.code, message: refusal.message }] } });
}

function respond(response: ServerResponse, refusal: Refusal): void {
  response.writeHead(refusal.status, { 'content-type': 'application/json', ...(refusal.challenge ? { 'www-authenticate': refusal.challenge } : {}) }).end(statusBody(refusal));
}
