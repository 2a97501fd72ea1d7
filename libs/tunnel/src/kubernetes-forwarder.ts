import { request, type RequestOptions } from 'node:https';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { constants } from 'node:http2';
import { forwardableHeaders } from './headers.js';

/** Who asked, as the broker vouches for it: the agent turns these into impersonation. */
export const CALLER_USER_HEADER = 'flotilla-caller-user';
export const CALLER_GROUPS_HEADER = 'flotilla-caller-groups';

export interface KubernetesTarget {
  /** `https://kubernetes.default.svc` in a pod. */
  apiServer: string;
  /** The agent's service-account token, read again for every request (kubelet rotates it). */
  token: () => string;
  /** The cluster's CA (`/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`). */
  ca: string | Buffer;
}

/**
 * The agent's side of a request: forwards one tunnel stream to the workload cluster's API server
 * with the agent's own credentials, impersonating the caller the broker names (user and groups),
 * so the cluster's RBAC and audit log see who really asked. Whatever `Authorization` or
 * `Impersonate-*` the stream carries is dropped first. Bodies stream both ways (watches, logs).
 */
export function kubernetesForwarder(target: KubernetesTarget): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  const base = new URL(target.apiServer);
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
    const options: RequestOptions = {
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port || 443,
      method: headerText(headers[':method']) ?? 'GET',
      path: `${base.pathname.replace(/\/$/, '')}${headerText(headers[':path']) ?? '/'}`,
      ca: target.ca,
      headers: { ...outgoing, authorization: `Bearer ${target.token()}`, 'impersonate-user': user, ...(groups?.length ? { 'impersonate-group': groups } : {}) },
    };
    const upstream = request(options, (response) => {
      stream.respond({ ':status': response.statusCode ?? 502, ...forwardableHeaders(response.headers) });
      response.pipe(stream);
    });
    upstream.on('error', (error) => {
      if (!stream.headersSent) {
        stream.respond({ ':status': 502, 'content-type': 'application/json' });
        stream.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'ServiceUnavailable', code: 502, message: `the API server did not answer the agent: ${error.message}` }));
      } else {
        stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
    // The caller went away (a watch closed): the request to the API server goes too.
    stream.on('close', () => upstream.destroy());
    stream.pipe(upstream);
  };
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
