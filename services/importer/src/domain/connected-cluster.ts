import {
  canOnboard,
  classify,
  type ClusterImportRequested,
  type ClusterImported,
  type CloudEvent,
  type Distribution,
  type EventData,
  type EventOf,
  type ImportRejected,
  type Reason,
  type SupportMatrix,
} from '@flotilla/contracts';
import type { z } from 'zod';
import type { CloudLocation, ProbeOutcome } from '../connectivity/cluster-probe.js';
import { checkBinding } from '../credentials/binding.js';
import type { StoredCredential } from '../credentials/credential-store.js';
import { importReason, type ImportWarningCode } from './reasons.js';
import { isTunnelRef, tunnelRequestReasons, type TunnelAccess } from './tunnel-cluster.js';

export const CONNECTED_CLUSTER_STATES = ['Requested', 'Checking', 'Imported', 'Rejected', 'Unreachable'] as const;
export type ConnectedClusterState = (typeof CONNECTED_CLUSTER_STATES)[number];
export type Provider = EventData<typeof ClusterImportRequested>['provider'];

/** The importer's view of one connected cluster. */
export interface ConnectedCluster {
  id: string;
  name: string;
  provider: Provider;
  apiServer: string | null;
  /** Where a cloud provider finds the cluster, for clusters imported with a cloud account. */
  cloud: CloudLocation | null;
  credentialRef: string;
  state: ConnectedClusterState;
  /** Counts accepted requests: a check that finishes for an older attempt is dropped. */
  attempt: number;
  requestEventId: string;
  /** The Kubernetes version the last successful check (or a later change) reported. */
  kubernetesVersion: string | null;
  distribution: z.infer<typeof Distribution> | null;
  nodeCount: number | null;
  reasons: Reason[];
  warnings: Reason[];
  policyRevision: string | null;
  requestedAt: string;
  checkStartedAt: string | null;
  importedAt: string | null;
  /** Set by ClusterDeleted: the cluster is forgotten (hidden) but a new import may reuse the id. */
  deletedAt: string | null;
  lastEventTime: string;
}

/** Still under management or on its way there: a second request for the id is refused. */
export function isActive(cluster: ConnectedCluster | undefined): cluster is ConnectedCluster {
  return cluster !== undefined && cluster.deletedAt === null && cluster.state !== 'Rejected';
}

const later = (a: string, b: string) => (a > b ? a : b);

/**
 * The next state of a cluster after an event (consumed, or emitted by the importer itself), or
 * `undefined` when the event changes nothing the importer keeps.
 */
export function evolve(cluster: ConnectedCluster | undefined, event: CloudEvent): ConnectedCluster | undefined {
  const known = classify(event);
  if (!known) return undefined;
  if (known.name === 'ClusterImportRequested') return recordRequest(cluster, known.event);
  if (!cluster) return undefined;
  const next = { ...cluster, lastEventTime: later(cluster.lastEventTime, event.time) };
  switch (known.name) {
    case 'ClusterImported': {
      const { data } = known.event;
      return {
        ...next,
        state: 'Imported',
        kubernetesVersion: data.kubernetesVersion,
        distribution: data.distribution,
        nodeCount: data.nodeCount,
        reasons: [],
        warnings: data.warnings,
        policyRevision: data.policyRevision ?? null,
        importedAt: event.time,
      };
    }
    case 'ImportRejected':
      return { ...next, state: 'Rejected', reasons: known.event.data.reasons };
    case 'ClusterUnreachable':
      return cluster.state === 'Imported' ? { ...next, state: 'Unreachable', reasons: [known.event.data.reason] } : undefined;
    case 'ClusterReachable':
      return cluster.state === 'Unreachable' ? { ...next, state: 'Imported', reasons: [] } : undefined;
    case 'ClusterVersionChanged':
      return { ...next, kubernetesVersion: known.event.data.kubernetesVersion };
    case 'ClusterDeleted':
      return cluster.deletedAt ? undefined : { ...next, deletedAt: event.time };
    case 'ClusterRequested':
    case 'NodesProvisioned':
    case 'ClusterReady':
    case 'ClusterProvisioningFailed':
    case 'MachineReplaced':
    case 'NodeUnhealthy':
    case 'ClusterUpgraded':
    case 'TunnelConnected':
    case 'TunnelDisconnected':
    case 'TunnelRegistrationIssued':
    case 'TunnelRegistrationRevoked':
    case 'TunnelRegistrationRedeemed':
    case 'NodePoolScaleRequested':
    case 'NodePoolScaled':
    case 'ClusterProgress':
    case 'ClusterDeletionRequested':
    case 'UpgradeStepApproved':
    case 'UpgradeStepFailed':
    case 'UpgradePlanRequested':
    case 'UpgradePlanned':
    case 'EventRejected':
    // Adoption is the managed cluster's record; the connected one is synced as before.
    case 'ClusterAdopted':
      return undefined;
  }
}

/** A request accepted by `decideImportRequest` starts a fresh attempt: nothing of an earlier one is kept. */
export function recordRequest(cluster: ConnectedCluster | undefined, event: EventOf<typeof ClusterImportRequested>): ConnectedCluster {
  const { data } = event;
  return {
    id: event.subject,
    name: data.name,
    provider: data.provider,
    apiServer: data.apiServer ?? null,
    cloud: data.cloud ?? null,
    credentialRef: data.credentialRef,
    state: 'Requested',
    attempt: (cluster?.attempt ?? 0) + 1,
    requestEventId: event.id,
    kubernetesVersion: null,
    distribution: null,
    nodeCount: null,
    reasons: [],
    warnings: [],
    policyRevision: null,
    requestedAt: event.time,
    checkStartedAt: null,
    importedAt: null,
    deletedAt: null,
    lastEventTime: cluster ? later(cluster.lastEventTime, event.time) : event.time,
  };
}

/** The worker took the cluster for a connectivity check (or took over a check whose lease ran out). */
export function beginCheck(cluster: ConnectedCluster, at: Date): ConnectedCluster {
  return { ...cluster, state: 'Checking', checkStartedAt: at.toISOString() };
}

/** The worker gave a check back unfinished (shutdown): another round or replica takes it again. */
export function abandonCheck(cluster: ConnectedCluster): ConnectedCluster {
  return { ...cluster, state: 'Requested', checkStartedAt: null };
}

/** A cluster reached through its tunnel could not be checked for want of the tunnel: it waits (Requested), saying why. */
export function awaitTunnel(cluster: ConnectedCluster, reasons: Reason[]): ConnectedCluster {
  return { ...cluster, state: 'Requested', checkStartedAt: null, reasons };
}

export type RequestDecision =
  /** The request contradicts what is known: it is dead-lettered with this code, nothing changes. */
  | { kind: 'refused'; code: 'import-in-progress' | 'already-imported'; message: string }
  /** Recorded as Requested; rejected at once when `rejection` is set, else checked by the worker. */
  | { kind: 'accepted'; rejection?: EventData<typeof ImportRejected> };

/**
 * What to do with an import request, given what is known about the id and the credential it
 * names: a stored credential, or, for a cluster reached through its tunnel, its registration.
 */
export function decideImportRequest(
  current: ConnectedCluster | undefined,
  request: EventOf<typeof ClusterImportRequested>,
  credential: StoredCredential | TunnelAccess | undefined,
  now: Date,
): RequestDecision {
  if (isActive(current)) {
    const inProgress = current.state === 'Requested' || current.state === 'Checking';
    return inProgress
      ? { kind: 'refused', code: 'import-in-progress', message: `an import of ${current.id} is already in progress (${current.state})` }
      : { kind: 'refused', code: 'already-imported', message: `${current.id} is already imported (${current.state}); delete it before importing it again` };
  }
  const { data } = request;
  if (isTunnelRef(data.credentialRef)) {
    const reasons = tunnelRequestReasons(request.subject, data, credential?.kind === 'tunnel' ? credential : { kind: 'tunnel', redeemed: false });
    return reasons.length > 0 ? { kind: 'accepted', rejection: { name: data.name, reasons } } : { kind: 'accepted' };
  }
  const stored = credential?.kind === 'tunnel' ? undefined : credential;
  const reasons: Reason[] = [];
  if (data.provider === 'cncf' && !data.apiServer) {
    reasons.push(importReason('api-server-required', 'a CNCF cluster is reached at its API server address; only cloud providers can locate a cluster without one', 'apiServer'));
  }
  if (!stored) {
    reasons.push(importReason('credential-not-found', `credentialRef "${data.credentialRef}" names no credential held by the importer`, 'credentialRef'));
  } else {
    if (stored.expiresAt !== null && Date.parse(stored.expiresAt) <= now.getTime()) {
      reasons.push(importReason('credential-expired', `credential "${stored.ref}" expired at ${stored.expiresAt}`, 'credentialRef'));
    }
    if (stored.kind === 'cloud-account' && data.provider === 'cncf') {
      reasons.push(importReason('credential-kind-mismatch', `credential "${stored.ref}" is a cloud account, which cannot authenticate to a CNCF cluster's API server`, 'credentialRef'));
    }
    if (stored.kind === 'cloud-account' && data.provider !== 'cncf' && !data.cloud) {
      reasons.push(importReason('cloud-location-required', `credential "${stored.ref}" is a cloud account: the ${data.provider} cluster is found by its name and location at the provider`, 'cloud'));
    }
    const binding = bindingReason(stored, data.apiServer);
    if (binding) reasons.push(binding);
  }
  return reasons.length > 0 ? { kind: 'accepted', rejection: { name: data.name, reasons } } : { kind: 'accepted' };
}

/**
 * Why a token or certificate credential may not be used at `apiServer`: it is bound to another
 * server, or to none. Undefined when it may (or when the credential is a cloud account).
 */
export function bindingReason(credential: StoredCredential, apiServer: string | undefined): Reason | undefined {
  if (credential.kind === 'cloud-account') return undefined;
  if (apiServer === undefined && credential.binding !== null) return undefined;
  const check = checkBinding(credential.ref, credential.binding, { apiServer: apiServer ?? '' });
  return check.ok ? undefined : importReason(check.code, check.message, check.field);
}

export interface OnboardingPolicy {
  release: string;
  matrix: SupportMatrix;
}

/** A probe's answer, or the worker's own verdict when the probe did not answer in time or threw. */
export type CheckOutcome = ProbeOutcome | { ok: false; failures: { code: 'probe-timeout' | 'probe-failed'; message: string }[] };

export type CheckDecision =
  | { kind: 'imported'; data: EventData<typeof ClusterImported> }
  | { kind: 'rejected'; data: EventData<typeof ImportRejected> };

/**
 * The end of a connectivity check: a failed probe rejects with its reasons; a cluster that
 * answered is judged by the onboarding policy (the third-party range of the platform release).
 * `credential` is null for a cluster reached through its tunnel (the importer's own identity).
 */
export function decideCheckOutcome(cluster: ConnectedCluster, outcome: CheckOutcome, credential: StoredCredential | null, policy: OnboardingPolicy): CheckDecision {
  if (!outcome.ok) {
    const reasons = outcome.failures.map((failure) => importReason(failure.code, failure.message));
    return { kind: 'rejected', data: { name: cluster.name, reasons: reasons.length > 0 ? reasons : [importReason('probe-failed', 'the probe reported a failure without a reason')] } };
  }
  const { report } = outcome;
  const onboard = canOnboard(report.version, policy.release, policy.matrix);
  if (!onboard.allowed) {
    return { kind: 'rejected', data: { name: cluster.name, reasons: [{ code: onboard.code, message: onboard.reason }], policyRevision: onboard.policyRevision, release: policy.release } };
  }
  const warnings: Reason[] = [];
  if (onboard.warning) warnings.push({ code: onboard.code, message: onboard.reason });
  if (credential !== null && credential.expiresAt !== null) {
    warnings.push({
      code: 'credential-expires' satisfies ImportWarningCode,
      message: `credential "${credential.ref}" expires at ${credential.expiresAt}: management of ${cluster.name} stops working then unless the credential is renewed`,
      field: 'credentialRef',
    });
  }
  if (report.ready === false) {
    warnings.push({ code: 'api-server-not-ready' satisfies ImportWarningCode, message: `the API server of ${cluster.name} answers but /readyz reports it not ready` });
  }
  return {
    kind: 'imported',
    data: {
      name: cluster.name,
      distribution: report.distribution,
      kubernetesVersion: report.version,
      nodeCount: report.nodes.length,
      capacity: {
        cpuCores: report.nodes.reduce((sum, node) => sum + node.cpuCores, 0),
        memoryBytes: report.nodes.reduce((sum, node) => sum + node.memoryBytes, 0),
        ...(report.nodes.some((node) => node.pods !== undefined) ? { pods: report.nodes.reduce((sum, node) => sum + (node.pods ?? 0), 0) } : {}),
      },
      warnings,
      policyRevision: onboard.policyRevision,
      release: policy.release,
    },
  };
}
