import { Agent, request, type RequestOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { constants } from 'node:http2';
import type { Duplex } from 'node:stream';
import { forwardableHeaders } from './headers.js';
import { relay } from './relay.js';
import { endTogether } from './upgrade.js';

/** Who asked, as the broker vouches for it: the agent turns these into impersonation. */
export const CALLER_USER_HEADER = 'flotilla-caller-user';
export const CALLER_GROUPS_HEADER = 'flotilla-caller-groups';

/**
 * How long a connection to the API server may wait idle for the next request. node's global
 * agent closes it after 5 s: a cluster asked every few seconds (kubectl, a dashboard's polling)
 * paid a TLS handshake to its API server, milliseconds of CPU on both sides, with each request.
 * Well under kube-apiserver's own idle timeout (90 s), so it is not the server that closes a
 * connection as a request goes out on it.
 */
export const API_SERVER_IDLE_MS = 30_000;

export interface KubernetesTarget {
  /** `https://kubernetes.default.svc` in a pod. */
  apiServer: string;
  /** The agent's service-account token, asked for every request (the kubelet rotates it). */
  token: () => string;
  /** The cluster's CA (`/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`). */
  ca: string | Buffer;
}

/**
 * The agent's side of a request: forwards one tunnel stream to the workload cluster's API server
 * with the agent's own credentials, impersonating the caller the broker names (user and groups),
 * so the cluster's RBAC and audit log see who really asked. Whatever `Authorization` or
 * `Impersonate-*` the stream carries is dropped first. Bodies stream both ways (watches, logs).
 * An extended CONNECT stream (`:protocol`, from relayUpgrade) becomes an HTTP/1.1 Upgrade to the
 * API server with the same credentials; on its 101 the stream answers 200 with the API server's
 * end-to-end headers and carries the bytes both ways; any other answer is relayed as it is.
 */
export function kubernetesForwarder(target: KubernetesTarget): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  const base = new URL(target.apiServer);
  // The forwarder's own pool of kept-alive connections (the most recently used first), not the
  // process's global one. The cluster's CA is parsed once, into the agent's TLS context for every
  // connection, and is not a request option: node names a pool by its requests' TLS options, a
  // `ca` by its whole PEM text, built and hashed again for every request.
  const agent = new Agent({ keepAlive: true, timeout: API_SERVER_IDLE_MS, scheduling: 'lifo', secureContext: createSecureContext({ ca: target.ca }) });
  return (stream, headers) => {
    const user = headerText(headers[CALLER_USER_HEADER]);
    if (!user) {
      stream.respond({ ':status': 403, 'content-type': 'application/json' });
      stream.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403, message: 'the tunnel carries only requests whose caller the broker names' }));
      return;
    }
    const groups = headerText(headers[CALLER_GROUPS_HEADER])
      ?.split(',')
      .map((group) => group.trim())
      .filter(Boolean);
    const outgoing = forwardableHeaders(headers, (name) => name === 'authorization' || name.startsWith('impersonate-') || name.startsWith('flotilla-'));
    const method = headerText(headers[':method']) ?? 'GET';
    const protocol = headerText(headers[':protocol']);
    const upgrading = method === 'CONNECT' && protocol !== undefined;
    const options: RequestOptions = {
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port || 443,
      // An upgrade arrives as an extended CONNECT (RFC 8441); the API server takes it as a GET (its exec, attach and portforward accept GET and POST).
      method: upgrading ? 'GET' : method,
      path: `${base.pathname.replace(/\/$/, '')}${headerText(headers[':path']) ?? '/'}`,
      agent,
      headers: {
        ...outgoing,
        authorization: `Bearer ${target.token()}`,
        'impersonate-user': user,
        ...(groups?.length ? { 'impersonate-group': groups } : {}),
        ...(upgrading ? { connection: 'Upgrade', upgrade: protocol } : {}),
      },
    };
    // The caller may leave (its stream reset) before the API server answers: nothing is sent on a
    // stream that is gone (respond() would throw, and take the agent with it).
    const gone = () => stream.destroyed || stream.closed;
    const upstream = request(options, (response) => {
      if (gone()) {
        response.resume();
        upstream.destroy();
        return;
      }
      stream.respond({ ':status': response.statusCode ?? 502, ...forwardableHeaders(response.headers) });
      relay(response, stream);
    });
    let upgraded = false;
    if (upgrading) {
      upstream.once('upgrade', (response, socket, head) => {
        if (gone()) return void socket.destroy();
        upgraded = true;
        joinUpgraded(stream, response.headers, socket, head);
      });
    }
    upstream.on('error', (error) => {
      if (gone()) return;
      if (!stream.headersSent) {
        stream.respond({ ':status': 502, 'content-type': 'application/json' });
        stream.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'ServiceUnavailable', code: 502, message: `the API server did not answer the agent: ${error.message}` }));
      } else {
        stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
    // The caller went away (a watch closed): the request to the API server goes too.
    stream.on('close', () => {
      if (!upgraded) upstream.destroy();
    });
    if (upgrading) upstream.end();
    else relay(stream, upstream);
  };
}

/** The API server switched protocols: the stream answers 200 with its end-to-end headers and carries the bytes both ways. */
function joinUpgraded(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  if (stream.destroyed) return void socket.destroy();
  stream.respond({ ':status': 200, ...forwardableHeaders(headers) });
  if (head.length > 0) stream.write(head);
  relay(socket, stream);
  relay(stream, socket);
  endTogether(stream, socket);
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
