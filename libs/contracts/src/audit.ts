import { z } from 'zod';

/**
 * One audit record, as each service publishes it on `<prefix>.audit.<service>` (JSON). It says
 * who did what, when, and with what result; it never carries a request body or a secret.
 */
export const AuditRecord = z.object({
  id: z.uuid(),
  time: z.iso.datetime(),
  service: z.string(),
  /** The caller: a token's `sub`, or `anonymous` when no valid token was presented. */
  subject: z.string(),
  /** The Flotilla token id (`jti`); absent for OIDC tokens and anonymous callers. */
  tokenId: z.string().optional(),
  /** `flotilla` or the OIDC issuer URL. */
  issuer: z.string().optional(),
  role: z.enum(['viewer', 'operator', 'admin']).optional(),
  /** HTTP method, or `USE` for a use of a stored credential by the service itself. */
  method: z.string(),
  /** The route template (`/api/v1/clusters/:id`) or, for a use, what was used (`ssh-key`). */
  route: z.string(),
  clusterId: z.string().optional(),
  /** `ok` (2xx), `refused` (401, 403), `failed` (any other error). */
  result: z.enum(['ok', 'refused', 'failed']),
  status: z.number().int(),
  /** Why it was refused or failed, when known. */
  reason: z.string().optional(),
  traceId: z.string().optional(),
  /** Bytes of the request and of the answer, and how long it took: for requests a service relays (the tunnel broker's proxy). */
  bytesIn: z.number().int().nonnegative().optional(),
  bytesOut: z.number().int().nonnegative().optional(),
  durationMs: z.number().nonnegative().optional(),
});
export type AuditRecord = z.infer<typeof AuditRecord>;
