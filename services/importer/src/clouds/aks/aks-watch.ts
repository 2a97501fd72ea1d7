import type { ManagedCluster, ManagedClusterAgentPoolProfile } from '@azure/arm-containerservice';
import type { CloudOperationStatus } from '../lifecycle.js';
import { aksResourceState } from './aks-mapping.js';

/**
 * What an AKS operation of ours changes, kept with the Azure poller's state in the operation
 * handle: its progress is then read from the resource's provisioningState in the resource group's
 * cluster list (ARM sets it as the operation starts and ends), one call for every cluster of the
 * group, instead of one poll of each operation.
 */
export interface AksOperationRef {
  resource: 'cluster' | 'pool';
  /** The agent pool's AKS name, for a pool. */
  pool?: string;
  action: 'put' | 'delete';
  /** The Azure poller's serialized state (`serialize()`), for `restorePoller`. */
  poller: string;
}

const PREFIX = 'flotilla-aks-operation:';

export function encodeAksOperation(ref: AksOperationRef): string {
  return `${PREFIX}${JSON.stringify(ref)}`;
}

/** A handle of ours, or (stored before handles said what they change) the poller's state alone. */
export function decodeAksOperation(handle: string): AksOperationRef | { poller: string } {
  if (!handle.startsWith(PREFIX)) return { poller: handle };
  try {
    const parsed = JSON.parse(handle.slice(PREFIX.length)) as Partial<AksOperationRef>;
    if ((parsed.resource === 'cluster' || parsed.resource === 'pool') && (parsed.action === 'put' || parsed.action === 'delete') && typeof parsed.poller === 'string') {
      return { resource: parsed.resource, action: parsed.action, poller: parsed.poller, ...(typeof parsed.pool === 'string' ? { pool: parsed.pool } : {}) };
    }
  } catch {
    // Not JSON: read as a poller state, which restorePoller refuses with a clear error.
  }
  return { poller: handle.slice(PREFIX.length) };
}

/** The agent pool of that AKS name in a cluster as ARM lists it. */
export function listedPool(cluster: ManagedCluster | null, poolName: string): ManagedClusterAgentPoolProfile | null {
  return cluster?.agentPoolProfiles?.find((pool) => pool.name?.toLowerCase() === poolName.toLowerCase()) ?? null;
}

/**
 * How the operation stands from its resource as listed (a list asked after the operation started):
 * `undefined` when only the poller can say (a failure, whose message it holds, or a resource in
 * a state the operation does not explain).
 */
export function statusFromListing(ref: AksOperationRef, cluster: ManagedCluster | null): CloudOperationStatus | undefined {
  const resource = ref.resource === 'cluster' ? cluster : ref.pool === undefined ? null : listedPool(cluster, ref.pool);
  if (resource === null) return ref.action === 'delete' ? { done: true, failure: null } : undefined;
  const state = aksResourceState(resource.provisioningState);
  if (ref.action === 'delete') return state === 'deleting' ? { done: false } : undefined;
  switch (state) {
    case 'ready':
      return { done: true, failure: null };
    case 'creating':
    case 'updating':
      return { done: false };
    case 'deleting':
    case 'failed':
      return undefined;
  }
}
