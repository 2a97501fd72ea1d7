import { ClusterRequested, createEvent, serviceSource, type ClusterSpec, type EventOf } from '../src/index.js';

/** A valid ClusterRequested `data`, as a publisher would write it (defaults left out). */
export function clusterSpec(overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    name: 'edge-eu-1',
    model: 'platform-provisioned',
    kubernetesVersion: '1.33',
    controlPlane: { count: 3, machineSize: 'm5.large' },
    nodePools: [{ name: 'workers', count: 2, machineSize: 'm5.xlarge', labels: {}, taints: [] }],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    nodeOs: 'flatcar',
    ...overrides,
  };
}

export const FIXED_TIME = new Date('2025-06-01T12:00:00.000Z');

export function clusterRequested(overrides: Partial<ClusterSpec> = {}): EventOf<typeof ClusterRequested> {
  return createEvent(
    ClusterRequested,
    { subject: 'edge-eu-1', source: serviceSource('inventory'), id: '0f8e3c52-4a7d-4c1e-9a59-3d2b8f6c1a01', time: FIXED_TIME },
    clusterSpec(overrides),
  );
}
