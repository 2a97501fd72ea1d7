import { ClusterRequested, createEvent, eventsSubject, type ClusterSpec } from '@flotilla/contracts';
import { publishEvent, type BusConnection, type BusOptions } from '../../src/index.js';

export function clusterSpec(name: string): ClusterSpec {
  return {
    name,
    model: 'platform-provisioned',
    kubernetesVersion: '1.34',
    controlPlane: { count: 1, machineSize: 'small' },
    nodePools: [],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  };
}

export async function requestCluster(bus: BusConnection, options: BusOptions, id: string, name = id): Promise<void> {
  const event = createEvent(ClusterRequested, { subject: id, source: '/tests/outside-publisher' }, clusterSpec(name));
  await publishEvent(bus.js, eventsSubject(options, ClusterRequested.channel), event);
}

