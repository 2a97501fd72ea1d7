import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditTrail, AuthenticationError, roleAllows, TokenVerifier, type AuthenticatedRequest, type Principal, type Role } from '@flotilla/auth';
import { ClusterEndpoints, type ClusterEndpoint } from '../connectivity/cluster-access.js';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import { isTunnelRef } from '../domain/tunnel-cluster.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';
import { forwardRequest, forwardUpgrade, refuseUpgrade, respond, type Refusal, type Relayed } from './api-server-forwarding.js';

/** `/api/v1/connected-clusters/<id>/k8s/<Kubernetes API path>`: kubectl's `--server` is the part up to `k8s`. */
const PROXY_PATH = /^\/api\/v1\/connected-clusters\/([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)\/k8s(\/[^?#]*)?(\?[^#]*)?$/;
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Viewers read everything but secrets: core secrets, listed, read or watched, in one namespace or all. */
const SECRETS = /^\/api\/v1\/(watch\/)?(namespaces\/[^/]+\/)?secrets(\/|$)/;
const ENDPOINT_CACHE_MS = 60_000;
const RESOLVE_TIMEOUT_MS = 15_000;
const REALM = 'flotilla';

type Admission = { ok: true; principal: Principal; clusterId: string; path: string } | { ok: false; refusal: Refusal; principal?: Principal; clusterId?: string };

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

  /** For the HTTP server's `upgrade` event: exec, attach and port-forward, for operators. */
  readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    if (!PROXY_PATH.test(request.url ?? '')) return refuseUpgrade(socket, { status: 404, code: 'not-found', message: 'nothing to upgrade here' });
    void this.relayUpgrade(request, socket, head).catch((error: unknown) => {
      this.logger.error({ msg: 'proxied upgrade failed', err: error });
      socket.destroy();
    });
  };

  private async relay(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const admission = await this.admit(request, false);
    const endpoint = admission.ok ? await this.endpointOf(admission.clusterId) : { refusal: admission.refusal };
    let result: Relayed;
    if ('refusal' in endpoint) {
      respond(response, endpoint.refusal);
      result = { status: endpoint.refusal.status, bytesIn: 0, bytesOut: 0, reason: endpoint.refusal.message };
    } else result = await forwardRequest(endpoint, request, response, admission.ok ? admission.path : '/');
    this.record(request, admission, result, started);
  }

  private async relayUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const started = performance.now();
    const admission = await this.admit(request, true);
    const endpoint = admission.ok ? await this.endpointOf(admission.clusterId) : { refusal: admission.refusal };
    let result: Relayed;
    if ('refusal' in endpoint) {
      refuseUpgrade(socket, endpoint.refusal);
      result = { status: endpoint.refusal.status, bytesIn: 0, bytesOut: 0, reason: endpoint.refusal.message };
    } else result = await forwardUpgrade(endpoint, request, socket, head, admission.ok ? admission.path : '/');
    this.record(request, admission, result, started);
  }

  /** One audit record per request or upgrade: who, which cluster, verb and path (never the query, a body or a token), status, bytes, duration. */
  private record(request: IncomingMessage, admission: Admission, result: Relayed, started: number): void {
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
  private async admit(request: IncomingMessage, upgrade: boolean): Promise<Admission> {
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
    const needed: Role = reading && !upgrade && !SECRETS.test(apiPath) ? 'viewer' : 'operator';
    if (!roleAllows(principal.role, needed)) {
      const what = upgrade ? 'exec, attach and port-forward' : reading ? 'reading secrets' : `${request.method ?? 'this'} requests`;
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

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
