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
}

/** Names the cluster a request acted on, when the path does not (a created or imported cluster). */
export function noteAuditTarget(request: AuthenticatedRequest, clusterId: string): void {
  request.audit = { ...request.audit, clusterId };
}
