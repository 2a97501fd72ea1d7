import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ClientHttp2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import { forwardRequest, type ForwardOptions, type ForwardResult } from './forward.js';
import { CALLER_GROUPS_HEADER, CALLER_USER_HEADER } from './kubernetes-forwarder.js';
import { headerLines, relayUpgrade } from './upgrade.js';

/** The `:authority` of the streams an agent serves as Kubernetes API requests. */
export const KUBERNETES_AUTHORITY = 'kubernetes.default.svc';

/** Whom the broker vouches for: the agent impersonates this user and these groups. */
export interface KubernetesCaller {
  user: string;
  groups: string[];
}

/** Where one Kubernetes API call goes: a cluster agent's session, the Kubernetes path (and query), who asks. */
export interface KubernetesRoute {
  session: ClientHttp2Session;
  path: string;
  caller: KubernetesCaller;
}

/** A call answered before it reaches a cluster (unauthenticated, not allowed, no such cluster, agent away). */
export interface KubernetesRefusal {
  status: number;
  message: string;
}

export type KubernetesRouting = KubernetesRoute | KubernetesRefusal;

/** What a caller may not pass on to a cluster: its own credentials and impersonation, and the broker's caller headers. */
export function isCallerCredential(name: string): boolean {
  return name === 'authorization' || name === 'cookie' || name.startsWith('impersonate-') || name.startsWith('flotilla-');
}

/** forwardRequest/relayUpgrade options for a route: its path, the Kubernetes authority, the caller's identity. */
export function kubernetesForwardOptions(route: KubernetesRoute): ForwardOptions {
  return {
    path: route.path,
    drop: isCallerCredential,
    headers: { ':authority': KUBERNETES_AUTHORITY, [CALLER_USER_HEADER]: route.caller.user, [CALLER_GROUPS_HEADER]: route.caller.groups.join(',') },
  };
}

/** A refusal as kube-apiserver words one (a v1 Status), so kubectl shows its message. */
export function kubernetesStatus(refusal: KubernetesRefusal): object {
  const reasons: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 429: 'TooManyRequests', 501: 'NotImplemented', 502: 'InternalError', 503: 'ServiceUnavailable' };
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: refusal.message, reason: reasons[refusal.status] ?? 'Unknown', code: refusal.status };
}

export interface KubernetesFront {
  /** An ordinary request (lists, watches, logs, writes): answered, streamed both ways. */
  request(request: IncomingMessage, response: ServerResponse): Promise<ForwardResult>;
  /** An HTTP server's `upgrade` event (exec, attach, port-forward). */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<ForwardResult>;
}

/**
 * The broker's front for Kubernetes API calls: `route` authenticates and authorizes a request
 * and names its cluster's session, path and caller (or refuses it); the call then goes to that
 * agent, one stream each, without the caller's own credentials and with the caller's identity.
 * `route` may throw a refusal-shaped error ({ status, message }) too.
 */
export function kubernetesFront(route: (request: IncomingMessage) => KubernetesRouting | Promise<KubernetesRouting>): KubernetesFront {
  const decide = async (request: IncomingMessage): Promise<KubernetesRouting> => {
    try {
      return await route(request);
    } catch (error) {
      if (isRefusal(error)) return error;
      return { status: 500, message: 'the request could not be routed to its cluster' };
    }
  };
  return {
    async request(request, response) {
      const routing = await decide(request);
      if ('session' in routing) return forwardRequest(routing.session, request, response, kubernetesForwardOptions(routing));
      const body = JSON.stringify(kubernetesStatus(routing));
      response.writeHead(routing.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      return { status: routing.status, bytesIn: 0, bytesOut: 0 };
    },
    async upgrade(request, socket, head) {
      socket.on('error', () => socket.destroy());
      const routing = await decide(request);
      if ('session' in routing) return relayUpgrade(routing.session, request, socket, head, kubernetesForwardOptions(routing));
      const body = JSON.stringify(kubernetesStatus(routing));
      socket.end(`HTTP/1.1 ${routing.status} ${STATUS_CODES[routing.status] ?? 'Error'}\r\n${headerLines({ 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' })}\r\n${body}`);
      return { status: routing.status, bytesIn: 0, bytesOut: 0 };
    },
  };
}

function isRefusal(value: unknown): value is KubernetesRefusal {
  return typeof value === 'object' && value !== null && typeof (value as KubernetesRefusal).status === 'number' && typeof (value as KubernetesRefusal).message === 'string';
}
