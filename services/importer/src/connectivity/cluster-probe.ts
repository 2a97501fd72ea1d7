import type { EventData, ClusterImportRequested } from '@flotilla/contracts';
import type { StoredCredential } from '../credentials/credential-store.js';
import type { ImportReasonCode } from '../domain/reasons.js';
import type { Distribution } from './distribution.js';

export type CloudLocation = NonNullable<EventData<typeof ClusterImportRequested>['cloud']>;

/** The cluster a connectivity check is about, and how to reach it. */
export type ProbeTarget = DirectTarget | TunnelTarget;

/** A cluster reached at its own address (or found by its cloud provider) with a stored credential. */
export interface DirectTarget {
  via?: 'direct';
  clusterId: string;
  provider: 'cncf' | 'eks' | 'aks' | 'gke';
  /** Absent for cloud providers that locate the cluster themselves. */
  apiServer: string | null;
  /** Where a cloud provider finds the cluster (with a cloud-account credential). */
  cloud: CloudLocation | null;
  credential: StoredCredential;
}

/** A cluster registered through the tunnel: reached only through the tunnel broker, as the importer itself. */
export interface TunnelTarget {
  via: 'tunnel';
  clusterId: string;
  provider: 'cncf';
  apiServer: null;
  cloud: null;
}

export interface ProbedNode {
  name: string;
  role: 'control-plane' | 'worker';
  kubeletVersion?: string;
  cpuCores: number;
  memoryBytes: number;
  pods?: number;
}

/** What a successful check found: enough for the onboarding policy and ClusterImported. */
export interface ProbeReport {
  /** The API server's gitVersion, e.g. `v1.31.5-eks-113cf36`. */
  version: string;
  distribution: Distribution;
  nodes: ProbedNode[];
  /** /readyz answered 200. A cluster that answers but is not ready is imported with a warning. */
  ready?: boolean;
  /** When the credential used stops working (a token's exp), when known. */
  credentialExpiresAt?: string | null;
}

/** What a periodic re-check found: the version and health only (no node listing). */
export interface HealthReport {
  version: string;
  ready: boolean;
}

/** The failures a probe reports (it answers them; it does not throw them). */
export type ProbeFailureCode = Extract<
  ImportReasonCode,
  | 'probe-timeout'
  | 'api-server-unreachable'
  | 'tls-verification-failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not-kubernetes'
  | 'api-server-error'
  | 'api-server-required'
  | 'credential-not-found'
  | 'credential-kind-mismatch'
  | 'credential-unbound'
  | 'credential-server-mismatch'
  | 'credential-ca-mismatch'
  | 'cloud-location-required'
  | 'cloud-access-failed'
  | 'tunnel-down'
  | 'tunnel-unavailable'
>;

export interface ProbeFailure {
  code: ProbeFailureCode;
  message: string;
}

export type ProbeOutcome = { ok: true; report: ProbeReport } | { ok: false; failures: ProbeFailure[] };
export type HealthOutcome = { ok: true; report: HealthReport } | { ok: false; failures: ProbeFailure[] };

/**
 * The connectivity check: reaches the API server, reads its version and nodes and detects the
 * distribution. Slow network I/O, so it runs in workers, never in an event handler.
 * `signal` aborts it (timeout, shutdown).
 */
export interface ClusterProbe {
  /** The import check: version, nodes (count, capacity, distribution), readiness. */
  probe(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome>;
  /** The periodic re-check: version and readiness only. */
  health(target: ProbeTarget, signal: AbortSignal): Promise<HealthOutcome>;
}

/** Injection token of the ClusterProbe implementation. */
export const CLUSTER_PROBE = Symbol('ClusterProbe');
