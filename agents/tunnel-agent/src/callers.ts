import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { CALLER_GROUPS_HEADER, CALLER_USER_HEADER } from '@flotilla/tunnel';

/**
 * Whom the agent will not act as, whatever the broker says: Kubernetes' own identities
 * (`system:` users such as the controller manager hold wide rights by their name alone), and
 * groups other than Flotilla's (the cluster's RBAC refuses those too: the agent may impersonate
 * only `flotilla:*` groups). A reason, or undefined when the caller may go on.
 */
export function callerRefusal(headers: IncomingHttpHeaders): string | undefined {
  const user = text(headers[CALLER_USER_HEADER]).trim();
  if (user.toLowerCase().startsWith('system:')) return `the tunnel never acts as a system: user (${user})`;
  const groups = text(headers[CALLER_GROUPS_HEADER])
    .split(',')
    .map((group) => group.trim())
    .filter(Boolean);
  const foreign = groups.filter((group) => !group.startsWith('flotilla:'));
  if (foreign.length > 0) return `the tunnel acts only in Flotilla's groups (flotilla:*), not ${foreign.join(', ')}`;
  return undefined;
}

/** A 403 as the API server words it, so kubectl shows the message. */
export function refuseCaller(stream: ServerHttp2Stream, message: string): void {
  stream.resume();
  if (stream.headersSent || stream.destroyed) return;
  stream.respond({ ':status': 403, 'content-type': 'application/json' });
  stream.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Forbidden', code: 403, message }));
}

function text(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}
