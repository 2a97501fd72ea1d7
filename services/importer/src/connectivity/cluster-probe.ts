import type { Distribution } from '@flotilla/contracts';
import type { z } from 'zod';
import type { StoredCredential } from '../credentials/credential-store.js';
import type { ImportReasonCode } from '../domain/reasons.js';

/** The cluster a connectivity check is about, and how to authenticate to it. */
export interface ProbeTarget {
  clusterId: string;
  provider: 'cncf' | 'eks' | 'aks' | 'gke';
  /** Absent for cloud providers that locate the cluster themselves. */
  apiServer: string | null;
  credential: StoredCredential;
}

export interface ProbedNode {
  name: string;
  role: 'control-plane' | 'worker';
  kubeletVersion?: string;
  cpuCores: number;
  memoryBytes: number;
}

/** What a successful check found: enough for the onboarding policy and ClusterImported. */
export interface ProbeReport {
  /** The API server's gitVersion, e.g. `v1.31.5-eks-113cf36`. */
  version: string;
  distribution: z.infer<typeof Distribution>;
  nodes: ProbedNode[];
}

/** The failures a probe reports (it answers them; it does not throw them). */
export type ProbeFailureCode = Extract<
  ImportReasonCode,
  'probe-unavailable' | 'api-server-unreachable' | 'tls-verification-failed' | 'unauthorized' | 'forbidden' | 'not-kubernetes'
>;

export interface ProbeFailure {
  code: ProbeFailureCode;
  message: string;
}

export type ProbeOutcome = { ok: true; report: ProbeReport } | { ok: false; failures: ProbeFailure[] };

/**
 * The connectivity check: reaches the API server, reads its version and nodes and detects the
 * distribution. Slow network I/O, so it runs in the import worker, never in an event handler.
 * `signal` aborts it (timeout, shutdown).
 */
export interface ClusterProbe {
  probe(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome>;
}

/** Injection token of the ClusterProbe implementation. */
export const CLUSTER_PROBE = Symbol('ClusterProbe');
