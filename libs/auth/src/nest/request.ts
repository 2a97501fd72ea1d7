import type { Principal } from '../principal.js';

/** What the guard leaves on a request for the handler and the audit trail. */
export interface AuthenticatedRequest {
  method: string;
  url: string;
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
  params?: Record<string, string>;
  route?: { path?: string };
  principal?: Principal;
  audit?: AuditNote;
}

export interface AuditNote {
  /** The route template, e.g. `/api/v1/clusters/:id`. */
  route?: string;
  clusterId?: string;
  /** Why the request was refused, when it was. */
  refusal?: string;
  principal?: Principal;
  /** The handler records the request itself (`AuditTrail.recordRequest`): the middleware leaves it. */
  recordedByHandler?: boolean;
  /** A read that hands out access (a kubeconfig, a certificate): recorded like a change. */
  recordRead?: boolean;
  /** What was handed out, for the record (a serial, an expiry; never the credential itself). */
  detail?: string;
}

/**
 * Records this read in the audit trail as a change would be, with `detail` (what was handed
 * out, never the credential) when it succeeds.
 */
export function auditRead(request: AuthenticatedRequest, detail?: string): void {
  request.audit = { ...request.audit, recordRead: true, ...(detail === undefined ? {} : { detail }) };
}

/** Names the cluster a request acted on, when the path does not (a created or imported cluster). */
export function noteAuditTarget(request: AuthenticatedRequest, clusterId: string): void {
  request.audit = { ...request.audit, clusterId };
}
