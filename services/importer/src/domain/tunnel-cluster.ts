import type { ClusterImportRequested, ClusterUnreachable, EventData, Reason } from '@flotilla/contracts';
import type { ConnectedCluster } from './connected-cluster.js';
import { importReason, type ImportReasonCode } from './reasons.js';
import type { TunnelLink } from './tunnel-link.js';

/**
 * The `credentialRef` of a cluster registered through the tunnel: it holds no credential of its
 * own here, and is reached only through the tunnel broker with the importer's own identity. The
 * colon keeps it apart from every stored credential's ref (`[a-z0-9._-]`).
 */
export const TUNNEL_CREDENTIAL_REF = 'flotilla:tunnel';

export function isTunnelRef(credentialRef: string): boolean {
  return credentialRef === TUNNEL_CREDENTIAL_REF;
}

/** Whether a cluster is reached through its tunnel (registered) rather than at an address of its own. */
export function reachedThroughTunnel(cluster: Pick<ConnectedCluster, 'credentialRef'>): boolean {
  return isTunnelRef(cluster.credentialRef);
}

/** What an import request through the tunnel is judged on: whether the broker redeemed a registration of the cluster. */
export interface TunnelAccess {
  kind: 'tunnel';
  /** A registration of this cluster was redeemed (and not revoked): its agent holds a certificate. */
  redeemed: boolean;
}

/** The import request that follows a redeemed registration: a CNCF cluster with no address, reached through the tunnel. */
export function tunnelImportRequest(registration: { clusterName: string; labels: Record<string, string> }): EventData<typeof ClusterImportRequested> {
  return {
    name: registration.clusterName,
    credentialRef: TUNNEL_CREDENTIAL_REF,
    provider: 'cncf',
    ...(Object.keys(registration.labels).length > 0 ? { labels: registration.labels } : {}),
  };
}

/** Why a request to import a cluster through its tunnel is refused at once ([] when it is not). */
export function tunnelRequestReasons(clusterId: string, data: EventData<typeof ClusterImportRequested>, access: TunnelAccess): Reason[] {
  const reasons: Reason[] = [];
  if (!access.redeemed) {
    reasons.push(
      importReason('tunnel-not-registered', `no registration of ${clusterId} was redeemed by the tunnel broker: register the cluster (POST /api/v1/registrations) and apply the agent manifest there`, 'credentialRef'),
    );
  }
  const only = (field: string, what: string) => importReason('tunnel-request-invalid', `a cluster registered through the tunnel is reached only through the tunnel broker, so it has ${what}`, field);
  if (data.apiServer !== undefined) reasons.push(only('apiServer', 'no API server address of its own here'));
  if (data.provider !== 'cncf') reasons.push(only('provider', 'provider cncf'));
  if (data.cloud !== undefined) reasons.push(only('cloud', 'no cloud location'));
  return reasons;
}

/**
 * Failures of a check through the tunnel that say nothing about the cluster: the tunnel was not
 * carrying (`tunnel-down`) or the importer could not use the broker (`tunnel-unavailable`).
 */
const TUNNEL_TRANSIENT: ReadonlySet<ImportReasonCode> = new Set(['tunnel-down', 'tunnel-unavailable']);

export type TunnelCheckEnd =
  /** Record the outcome as for any cluster: ClusterImported or ImportRejected. */
  | { kind: 'record' }
  /** Imported, then Unreachable at once: the check got through, the tunnel went down since. */
  | { kind: 'record-then-down' }
  /** Not judged: the cluster waits (Requested) for its tunnel, with these reasons shown meanwhile. */
  | { kind: 'wait'; reasons: Reason[] };

/**
 * How an import check of a cluster reached through its tunnel ends. A failure while the tunnel is
 * down, or one that only says the tunnel or the broker did not carry the check, is not the
 * cluster's: it waits for its tunnel (checked again when it is up) instead of being rejected.
 */
export function decideTunnelCheckEnd(outcome: { ok: true } | { ok: false; failures: { code: string; message: string }[] }, tunnel: TunnelLink | undefined): TunnelCheckEnd {
  const up = tunnel?.state === 'connected';
  if (outcome.ok) return up ? { kind: 'record' } : { kind: 'record-then-down' };
  const transient = outcome.failures.every((failure) => TUNNEL_TRANSIENT.has(failure.code as ImportReasonCode));
  if (up && !transient) return { kind: 'record' };
  const reasons = up
    ? outcome.failures.map((failure) => ({ code: failure.code, message: failure.message }))
    : [tunnelDownReason(tunnel)];
  return { kind: 'wait', reasons };
}

export type TunnelChangeEffect =
  | { kind: 'none' }
  /** The tunnel went down: the cluster is unreachable from now on (no grace: see decideTunnelChange). */
  | { kind: 'unreachable'; data: EventData<typeof ClusterUnreachable> }
  /** The tunnel is up again: re-check the cluster now (it becomes Reachable when it answers). */
  | { kind: 'recheck' };

/**
 * What a change of its tunnel means for a managed cluster reached through it. A tunnel that goes
 * down makes the cluster Unreachable at once, without the re-checks' grace: the broker says so
 * only once the agent is gone for good (its heartbeat timed out, or it closed; a restarted agent
 * supersedes its session without a disconnect), and nothing reaches the cluster meanwhile, so
 * probing through a tunnel known to be down would only delay the news.
 */
export function decideTunnelChange(cluster: ConnectedCluster | undefined, link: TunnelLink): TunnelChangeEffect {
  if (!cluster || cluster.deletedAt !== null || !reachedThroughTunnel(cluster)) return { kind: 'none' };
  if (link.state === 'disconnected') {
    return cluster.state === 'Imported' ? { kind: 'unreachable', data: { reason: tunnelDownReason(link, cluster.name), since: link.since } } : { kind: 'none' };
  }
  return cluster.state === 'Imported' || cluster.state === 'Unreachable' ? { kind: 'recheck' } : { kind: 'none' };
}

export function tunnelDownReason(link: TunnelLink | undefined, name?: string): Reason {
  const which = name === undefined ? 'the tunnel of the cluster' : `the tunnel of ${name}`;
  const detail = link ? `${which} is down since ${link.since} (${link.reason ?? 'disconnected'})` : `${which} has not connected yet`;
  return importReason('tunnel-down', `${detail}: the cluster is reached only through it`);
}
