import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientHttp2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditTrail, AuthenticationError, describeScope, inScope, roleAllows, TokenVerifier, type AuthenticatedRequest, type Principal, type Role } from '@flotilla/auth';
import { forwardRequest, kubernetesForwardOptions, kubernetesStatus, relayUpgrade, type ForwardOptions } from '@flotilla/tunnel';
import { AgentGateway } from '../agents/agent-gateway.js';
import { ReplicaIdentity } from '../agents/replica.js';
import { AGENT_SETTINGS, type AgentSettings } from '../config.js';
import { SessionRegistry } from '../agents/session-registry.js';
import { EnrollmentRepository, type TunnelCluster } from '../enrollment/enrollment.repository.js';
import { FORWARDED_BY_HEADER, forwardToReplica, forwardUpgradeToReplica, type Relayed } from './replica-forwarding.js';

/** `/api/v1/tunnels/<cluster>/k8s/<Kubernetes API path>`: kubectl's `--server` is the part up to `k8s`. */
const PROXY_PATH = /^\/api\/v1\/tunnels\/([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)\/k8s(\/[^?#]*)?(\?[^#]*)?$/;
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const CLUSTER_CACHE_MS = 5_000;
const REALM = 'flotilla';

interface Refusal {
  status: number;
  code: string;
  message: string;
  challenge?: string;
}

type Admission = { ok: true; principal: Principal; clusterId: string; path: string } | { ok: false; refusal: Refusal; principal?: Principal; clusterId?: string };

/**
 * Operators and services use a workload cluster's Kubernetes API through the broker as if it
 * were direct: each request (or upgrade, for exec, attach and port-forward) is authenticated,
 * authorised for that cluster (viewer reads, operator does everything else, scoped callers only
 * their clusters), relayed to the cluster's agent as one HTTP/2 stream (forwarded to the replica
 * holding the agent when it is not here), and audited with its size and duration. The agent
 * forwards it as the caller (impersonation), never with the caller's own credentials.
 */
@Injectable()
export class TunnelProxy {
  private readonly logger = new Logger(TunnelProxy.name);
  private readonly clusters = new Map<string, { cluster: TunnelCluster | undefined; until: number }>();

  constructor(
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(AgentGateway) private readonly gateway: AgentGateway,
    @Inject(SessionRegistry) private readonly registry: SessionRegistry,
    @Inject(ReplicaIdentity) private readonly replica: ReplicaIdentity,
    @Inject(EnrollmentRepository) private readonly enrollment: EnrollmentRepository,
    @Inject(AuditTrail) private readonly audit: AuditTrail,
    @Inject(AGENT_SETTINGS) private readonly settings: AgentSettings,
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

  /** For the HTTP server's `upgrade` event. Upgrades elsewhere are not the broker's: refused. */
  readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    if (!PROXY_PATH.test(request.url ?? '')) return refuseUpgrade(socket, { status: 404, code: 'not-found', message: 'nothing to upgrade here' });
    void this.relayUpgrade(request, socket, head).catch((error: unknown) => {
      this.logger.error({ msg: 'proxied upgrade failed', err: error });
      socket.destroy();
    });
  };

  /**
   * The agent forwards as the caller: user = the token's subject, group = `flotilla:<role>` (what
   * the manifest's RBAC binds); never with the caller's own credentials or impersonation.
   */
  private forwardOptions(session: ClientHttp2Session, admission: { principal: Principal; path: string }): ForwardOptions {
    const caller = { user: admission.principal.subject, groups: [`flotilla:${admission.principal.role}`] };
    return { ...kubernetesForwardOptions({ session, path: admission.path, caller }), stalledCallerTimeoutMs: this.settings.stalledCallerTimeoutMs };
  }

  private async relay(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const admission = await this.admit(request, false);
    let result: Relayed;
    if (!admission.ok) {
      respond(response, admission.refusal);
      result = { status: admission.refusal.status, bytesIn: 0, bytesOut: 0 };
    } else {
      const local = this.gateway.session(admission.clusterId);
      const location = local ? undefined : await this.elsewhere(request, admission.clusterId);
      if (local) result = await forwardRequest(local.session, request, response, this.forwardOptions(local.session, admission));
      else if (location) result = await forwardToReplica(location.url, this.replica.replicaId, request, response);
      else {
        const refusal = notConnected(admission.clusterId);
        respond(response, refusal);
        result = { status: refusal.status, bytesIn: 0, bytesOut: 0 };
      }
    }
    this.record(request, admission, result, started);
  }

  private async relayUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const started = performance.now();
    const admission = await this.admit(request, true);
    let result: Relayed;
    if (!admission.ok) {
      refuseUpgrade(socket, admission.refusal);
      result = { status: admission.refusal.status, bytesIn: 0, bytesOut: 0 };
    } else {
      const local = this.gateway.session(admission.clusterId);
      const location = local ? undefined : await this.elsewhere(request, admission.clusterId);
      if (local) result = await relayUpgrade(local.session, request, socket, head, this.forwardOptions(local.session, admission));
      else if (location) result = await forwardUpgradeToReplica(location.url, this.replica.replicaId, request, socket, head);
      else {
        const refusal = notConnected(admission.clusterId);
        refuseUpgrade(socket, refusal);
        result = { status: refusal.status, bytesIn: 0, bytesOut: 0 };
      }
    }
    this.record(request, admission, result, started);
  }

  /** Who asks, for which cluster, and whether they may. */
  private async admit(request: IncomingMessage, upgrade: boolean): Promise<Admission> {
    const [, clusterId, path, query] = PROXY_PATH.exec(request.url ?? '') ?? [];
    if (!clusterId) return { ok: false, refusal: { status: 404, code: 'not-found', message: 'not a tunnel proxy path' } };
    let principal: Principal;
    try {
      principal = await this.verifier.authenticate(firstHeader(request.headers.authorization));
    } catch (error) {
      const reason = error instanceof AuthenticationError ? error.message : 'token could not be verified';
      const challenge = request.headers.authorization ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`;
      return { ok: false, clusterId, refusal: { status: 401, code: 'unauthenticated', message: reason, challenge } };
    }
    const needed: Role = READS.has(request.method ?? 'GET') && !upgrade ? 'viewer' : 'operator';
    if (!roleAllows(principal.role, needed)) {
      const what = upgrade ? 'exec, attach and port-forward' : `${request.method ?? 'this'} requests`;
      return { ok: false, principal, clusterId, refusal: { status: 403, code: 'forbidden', message: `${what} through the tunnel: this needs the ${needed} role; ${principal.subject} has ${principal.role}` } };
    }
    const cluster = await this.cluster(clusterId);
    if (!cluster || cluster.removedAt) return { ok: false, principal, clusterId, refusal: { status: 404, code: 'cluster-not-found', message: `no cluster "${clusterId}" is registered for a tunnel` } };
    if (!inScope(principal, cluster.labels)) {
      return { ok: false, principal, clusterId, refusal: { status: 403, code: 'forbidden', message: `${principal.subject} may act only on clusters labelled ${describeScope(principal.scope)}; ${clusterId} is not one of them` } };
    }
    return { ok: true, principal, clusterId, path: `${path ?? '/'}${query ?? ''}` };
  }

  /** The replica holding the agent, unless it is this one or this request was already forwarded once. */
  private async elsewhere(request: IncomingMessage, clusterId: string) {
    if (request.headers[FORWARDED_BY_HEADER]) return undefined;
    const location = await this.registry.locate(clusterId);
    return location && location.replicaId !== this.replica.replicaId ? location : undefined;
  }

  private async cluster(clusterId: string): Promise<TunnelCluster | undefined> {
    const cached = this.clusters.get(clusterId);
    if (cached && cached.until > Date.now()) return cached.cluster;
    const cluster = await this.enrollment.findCluster(clusterId);
    if (this.clusters.size > 10_000) this.clusters.clear();
    this.clusters.set(clusterId, { cluster, until: Date.now() + CLUSTER_CACHE_MS });
    return cluster;
  }

  /** One audit record per request: who, which cluster, verb and path (never the query, a body or a token), status, bytes, duration. */
  private record(request: IncomingMessage, admission: Admission, result: Relayed, started: number): void {
    // A request forwarded by another replica is recorded there.
    if (request.headers[FORWARDED_BY_HEADER]) return;
    const path = (request.url ?? '').split('?')[0]!;
    void this.audit.recordRequest({
      principal: admission.principal,
      method: request.method ?? 'GET',
      route: path,
      ...(admission.clusterId ? { clusterId: admission.clusterId } : {}),
      status: result.status,
      ...(admission.ok ? {} : { reason: admission.refusal.message }),
      bytesIn: result.bytesIn,
      bytesOut: result.bytesOut,
      durationMs: performance.now() - started,
    });
  }
}

function notConnected(clusterId: string): Refusal {
  return { status: 503, code: 'tunnel-down', message: `the agent of cluster "${clusterId}" is not connected to any broker replica` };
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Refusals as Kubernetes Status objects (kubectl shows the message), with Flotilla's code as the cause. */
function statusBody(refusal: Refusal): string {
  return JSON.stringify({ ...kubernetesStatus(refusal), details: { causes: [{ reason: refusal.code, message: refusal.message }] } });
}

function respond(response: ServerResponse, refusal: Refusal): void {
  const body = statusBody(refusal);
  response.writeHead(refusal.status, { 'content-type': 'application/json', ...(refusal.challenge ? { 'www-authenticate': refusal.challenge } : {}) }).end(body);
}

function refuseUpgrade(socket: Duplex, refusal: Refusal): void {
  const body = statusBody(refusal);
  const challenge = refusal.challenge ? `www-authenticate: ${refusal.challenge}\r\n` : '';
  socket.end(`HTTP/1.1 ${refusal.status} ${refusal.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${challenge}connection: close\r\n\r\n${body}`);
}
