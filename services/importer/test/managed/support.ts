import { createEvent, eventsSubject, type ClusterRequested, type EventData, type EventDefinition } from '@flotilla/contracts';
import { publishEvent, type BusConnection } from '@flotilla/messaging';

/** Publishes events as a service that produces them would: consumers refuse one that claims another's source. */
export function publisher(bus: () => BusConnection, prefix: () => string) {
  const producerOf = (definition: EventDefinition) => definition.producers.find((producer) => producer !== 'external') ?? 'inventory';
  return <D extends EventDefinition>(definition: D, subject: string, data: EventData<D>) =>
    publishEvent(bus().js, eventsSubject({ prefix: prefix() }, definition.channel), createEvent(definition, { subject, source: `/flotilla/${producerOf(definition)}` }, data));
}

/** A public cloud cluster at EKS with two node groups, in the region the EKS tests use, on the account `aws-fleet`. */
export const eksClusterRequest = (name: string, kubernetesVersion = '1.30', region = 'eu-west-1'): EventData<typeof ClusterRequested> => ({
  name,
  model: 'public-cloud',
  kubernetesVersion,
  nodePools: [
    { name: 'system', count: 2, machineSize: 'm6i.large', labels: {}, taints: [{ key: 'CriticalAddonsOnly', value: 'true', effect: 'NoSchedule' }] },
    { name: 'workers', count: 3, machineSize: 'm6i.xlarge', minCount: 1, maxCount: 6, labels: { pool: 'workers' }, taints: [] },
  ],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  cloud: {
    provider: 'eks',
    credentialRef: 'aws-fleet',
    region,
    networking: {
      subnetIds: ['subnet-0a', 'subnet-0b'],
      securityGroupIds: ['sg-0c'],
      clusterRoleArn: 'arn:aws:iam::123456789012:role/flotilla-eks-cluster',
      nodeRoleArn: 'arn:aws:iam::123456789012:role/flotilla-eks-node',
    },
    endpointAccess: 'public',
    tags: { team: 'payments' },
  },
});

/**
 * The stand-ins of these tests run a cloud operation in a few hundred milliseconds where the clouds
 * take minutes: the reconciler's typical operation times (look-again.ts) are divided by this.
 */
export const STANDIN_TIME_SCALE = 2_000;
