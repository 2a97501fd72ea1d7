import { reason } from '../reasons.js';
import { ProvisionerError } from './errors.js';
import type { ClusterEvent } from './events.js';
import { isProvisioning, type ClusterState } from './state.js';

/*
 * A hosted cluster's control plane runs in its management cluster (Kamaji's TenantControlPlane).
 * Its API endpoint is the one the TenantControlPlane reports once Ready: recorded then, and only
 * then may the workers join it. A management cluster that refuses the object, or never readies
 * it, fails a cluster that is coming up.
 */

export type ControlPlaneObservation =
  | { kind: 'ready'; endpoint: string }
  | { kind: 'failed'; code: 'control-plane-refused' | 'control-plane-timeout' | 'management-cluster-unavailable'; message: string };

/** What the hosted reconciler saw of a cluster's TenantControlPlane. */
export interface ObserveControlPlane {
  type: 'ObserveControlPlane';
  clusterId: string;
  observation: ControlPlaneObservation;
  at: string;
}

export function decideControlPlane(command: ObserveControlPlane, state: ClusterState | undefined): ClusterEvent[] {
  const { clusterId, observation, at } = command;
  if (!state) throw new ProvisionerError('cluster-not-found', `cluster "${clusterId}" is not known here`);
  if (state.model !== 'hosted-control-plane') throw new ProvisionerError('cluster-not-hosted', `cluster "${clusterId}" has no hosted control plane`);
  const live = isProvisioning(state.phase) || state.phase === 'Running';
  switch (observation.kind) {
    case 'ready':
      if (!live || state.apiServerEndpoint === observation.endpoint) return [];
      // Clusters placed before control planes were applied carry their DNS name: kept, as their nodes use it.
      if (state.apiServerEndpoint !== null) throw new ProvisionerError('endpoint-changed', `cluster "${clusterId}" has API server endpoint ${state.apiServerEndpoint}; its TenantControlPlane reports ${observation.endpoint}`);
      return [{ type: 'ApiServerEndpointAssigned', clusterId, endpoint: observation.endpoint, at }];
    case 'failed':
      // A cluster that runs keeps running on what it has; one coming up cannot without its control plane.
      if (!isProvisioning(state.phase)) return [];
      return [{ type: 'ClusterFailed', clusterId, model: state.model, reasons: [reason(observation.code, observation.message, 'hosted')], at }];
  }
}

/** Whether a hosted cluster's workers may join: its control plane reported Ready (its endpoint is known). */
export function controlPlaneReady(state: Pick<ClusterState, 'model' | 'apiServerEndpoint'>): boolean {
  return state.model !== 'hosted-control-plane' || state.apiServerEndpoint !== null;
}
