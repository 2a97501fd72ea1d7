import type { ClusterDetail } from '../src/api/types.js';

/** A cluster as GET /api/v1/clusters/{id} answers it, Running with one control plane and one worker. */
export function clusterDetail(overrides: Partial<ClusterDetail> = {}): ClusterDetail {
  return {
    id: 'prod-1',
    name: 'prod',
    model: 'platform-provisioned',
    labels: { team: 'a' },
    status: 'Running',
    kubernetesVersion: 'v1.34.1',
    distribution: null,
    nodes: [
      { name: 'prod-1-cp-0', role: 'control-plane' },
      { name: 'prod-1-workers-0', role: 'worker', pool: 'workers' },
    ],
    reasons: [],
    warnings: [],
    reachable: null,
    tunnel: null,
    access: 'direct',
    lastEventTime: '2026-01-10T11:00:00.000Z',
    pendingRequests: [],
    lastRefusal: null,
    progress: { phase: 'Running', controlPlane: { ready: 1, total: 1 }, nodePools: [{ pool: 'workers', ready: 1, total: 1 }], operation: null, time: '2026-01-10T11:00:00.000Z' },
    history: [],
    historyNextCursor: null,
    ...overrides,
  };
}
