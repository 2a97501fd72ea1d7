import { createHash } from 'node:crypto';
import type { Reason } from '@flotilla/contracts';
import type { CloudProviderName } from '../clouds/cloud-provider.js';
import type { CloudClusterSpec, CloudNodeGroupSpec, CloudPlace, CloudTarget } from '../clouds/lifecycle.js';

/**
 * A public cloud cluster the importer creates and runs (model `public-cloud`), or an imported one
 * it adopted. The desired state is what was asked for; what the cloud has is observed anew at each
 * step, so a restart resumes from observation, never from a memory of what was done.
 */
export interface ManagedCluster {
  id: string;
  name: string;
  provider: CloudProviderName;
  /** The cloud account (a credential of the importer) every call is made with. */
  credentialRef: string;
  place: CloudPlace;
  /** The cluster's name at its cloud: `cloudNameFor(id)`, or the adopted cluster's own. */
  cloudName: string;
  /** The control plane as wanted: `kubernetesVersion` moves with each approved upgrade step. */
  spec: CloudClusterSpec;
  /** The node groups as wanted, sorted by name. */
  nodeGroups: CloudNodeGroupSpec[];
  phase: ManagedPhase;
  /** What the reconciler is doing for it; null when it just runs. */
  work: ManagedWork | null;
  /** The last step the reconciler took (for people, and for the step's request token). */
  step: string | null;
  /** The cloud's handle of the long-running operation in flight: waited on, never restarted. */
  operation: string | null;
  /** Counts accepted requests: request tokens are derived from it, so a retried step reuses its token. */
  generation: number;
  /** The version was found among the cloud's offered versions (checked once, before the create). */
  versionOffered: boolean;
  reasons: Reason[];
  /** Transient failures in a row (the backoff grows with them). */
  failures: number;
  nextAttemptAt: string;
  requestEventId: string;
  /** What the last observation saw. */
  observedVersion: string | null;
  endpoint: string | null;
  release: string | null;
  policyRevision: string | null;
  /** Adopted from an import (ClusterAdopted) rather than created here. */
  adopted: boolean;
  createdAt: string;
}

export const MANAGED_PHASES = ['Provisioning', 'Running', 'Deleting', 'Deleted', 'Failed'] as const;
export type ManagedPhase = (typeof MANAGED_PHASES)[number];

/** One piece of work at a time per cluster; a request that comes while one is under way is refused. */
export type ManagedWork =
  | { kind: 'create' }
  | { kind: 'scale'; pool: string; from: number; to: number; requestEventId: string }
  | { kind: 'upgrade'; planId: string; fromVersion: string; toVersion: string; requestEventId: string; policyRevision?: string }
  | { kind: 'delete'; requestEventId: string };

/** Every managed cluster's cloud resources carry OWNERSHIP_TAG, whatever else the request adds. */
export function targetOf(cluster: Pick<ManagedCluster, 'place' | 'cloudName'>): CloudTarget {
  return { ...cluster.place, clusterName: cluster.cloudName };
}

// GKE is the strictest of the three: a lower-case letter first, [-a-z0-9], at most 40 characters.
const CLOUD_NAME_LENGTH = 40;
const CLOUD_NAME_PREFIX = 'fl-';

/**
 * The cluster's name at its cloud, derived from the cluster id alone: after a crash the same name
 * is looked up, so finding the cluster is resuming. Valid on EKS, AKS and GKE alike; an id too long
 * for GKE keeps its start and gets a hash of the whole id, so two ids never share a name.
 */
export function cloudNameFor(clusterId: string): string {
  const whole = `${CLOUD_NAME_PREFIX}${clusterId}`;
  if (whole.length <= CLOUD_NAME_LENGTH) return whole;
  const hash = createHash('sha256').update(clusterId).digest('hex').slice(0, 8);
  const keep = CLOUD_NAME_LENGTH - CLOUD_NAME_PREFIX.length - hash.length - 1;
  return `${CLOUD_NAME_PREFIX}${clusterId.slice(0, keep).replace(/-+$/, '')}-${hash}`;
}

/**
 * The request token of one step: the same for every retry of that step of that request (EKS
 * de-duplicates by it), another for the next request. A UUID-shaped hash fits every cloud's limit.
 */
export function requestTokenFor(clusterId: string, generation: number, step: string): string {
  const hex = createHash('sha256').update(`${clusterId}\u0000${generation}\u0000${step}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** `1.31` from `1.31`, `v1.31.4`, `1.31.4-eks-113cf36` or `1.31.4-gke.1000`; null when unreadable. */
export function minorOf(version: string | null): string | null {
  if (version === null) return null;
  const match = /^v?(\d+)\.(\d+)/.exec(version);
  return match ? `${Number(match[1])}.${Number(match[2])}` : null;
}

/** Compares two `major.minor` versions: negative when a is older. */
export function compareMinor(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor === bMajor ? aMinor - bMinor : aMajor - bMajor;
}

/** Backoff after `failures` transient failures in a row: doubling from `baseMs`, capped. */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
}
