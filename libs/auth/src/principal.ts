import type { Role } from './roles.js';

/**
 * Clusters a caller may act on: those carrying every one of these labels. A principal without a
 * scope acts on the whole fleet.
 */
export interface LabelScope {
  labels: Record<string, string>;
}

/** Who is calling, as established from their token. */
export interface Principal {
  /** The token's `sub`: a person, a team or a service account. */
  subject: string;
  role: Role;
  /** `flotilla` for tokens this installation issued, otherwise the OIDC issuer URL. */
  issuer: string;
  /** The token id (`jti`) of a Flotilla token; absent for OIDC tokens. */
  tokenId?: string;
  scope?: LabelScope;
}

/** Whether a cluster with these labels is within the principal's scope. */
export function inScope(principal: Pick<Principal, 'scope'>, clusterLabels: Record<string, string> | null | undefined): boolean {
  if (!principal.scope) return true;
  const labels = clusterLabels ?? {};
  return Object.entries(principal.scope.labels).every(([key, value]) => labels[key] === value);
}

/** `team=a,env=prod`: how a scope is written in messages and on the command line. */
export function describeScope(scope: LabelScope | undefined): string {
  if (!scope) return 'the whole fleet';
  return Object.entries(scope.labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}
