import type { ClusterSpec } from '@flotilla/contracts';

/** Control-plane sizes, chosen by the hosted cluster's worker count. */
export type ControlPlaneSize = 'small' | 'medium' | 'large';

/** Where a hosted control plane runs and what to apply there. */
export interface HostedControlPlane {
  clusterId: string;
  managementCluster: string;
  size: ControlPlaneSize;
  /** Namespace of the management cluster the control plane's pods run in. */
  namespace: string;
  /** The DNS name of its API server (`<cluster id>.<ingress domain>:6443`), among its certificate's SANs. */
  endpoint: string;
  /** The object to apply on the management cluster (Kamaji's TenantControlPlane shape). */
  manifest: Record<string, unknown>;
}

export type PlacementFailureCode = 'no-management-cluster' | 'management-capacity-exhausted';

export type PlacementResult =
  | { ok: true; placement: HostedControlPlane }
  | { ok: false; code: PlacementFailureCode; message: string };

/**
 * Places hosted control planes on registered management clusters. Both methods join the
 * caller's transaction (UnitOfWork), so a reservation commits or rolls back with the cluster it
 * is for. Both are idempotent per cluster id.
 */
export interface ControlPlanePlacement {
  /** Reserves room for the cluster's control plane, or says why there is none (never over-commits). */
  reserve(clusterId: string, spec: ClusterSpec): Promise<PlacementResult>;
  /** Frees what the cluster holds at once (nothing was applied for it in the management cluster). */
  release(clusterId: string): Promise<void>;
  /**
   * The cluster was deleted or failed: its control plane is deleted from the management cluster,
   * and what it holds is freed once it is gone there (the hosted reconciler).
   */
  retire(clusterId: string): Promise<void>;
}

export const CONTROL_PLANE_PLACEMENT = Symbol('CONTROL_PLANE_PLACEMENT');

/** For bootstrappers of a hosted cluster's workers: the API server endpoint they join. */
export interface ControlPlaneEndpoints {
  /** The TenantControlPlane's endpoint (`host:port`) once it is Ready; undefined before. */
  joinEndpoint(clusterId: string): Promise<string | undefined>;
}

export const CONTROL_PLANE_ENDPOINTS = Symbol('CONTROL_PLANE_ENDPOINTS');
