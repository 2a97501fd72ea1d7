import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterRequested, clusterSpec } from '../../test/fixtures.js';
import { createEvent } from '../envelope.js';
import { eventJsonSchema } from '../json-schema.js';
import { validateEvent } from '../validation.js';
import { CLOUD_LIMITS } from './cloud.js';
import { ClusterAdopted, ClusterRequested, ClusterSpec } from './cluster.js';

const eks = {
  provider: 'eks',
  credentialRef: 'aws-prod',
  region: 'eu-west-1',
  networking: { subnetIds: ['subnet-a', 'subnet-b'], clusterRoleArn: 'arn:aws:iam::1:role/eks', nodeRoleArn: 'arn:aws:iam::1:role/nodes' },
};
const aks = { provider: 'aks', credentialRef: 'azure-prod', region: 'westeurope', subscriptionId: 'sub-1', resourceGroup: 'rg-fleet' };
const gke = { provider: 'gke', credentialRef: 'gcp-prod', region: 'europe-west1-b', projectId: 'fleet-1', networking: { network: 'default', subnetwork: 'nodes' } };

/** A public-cloud request as a publisher writes it: no controlPlane, no nodeOs. */
function publicCloud(cloud: Record<string, unknown> | undefined, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { controlPlane: _controlPlane, nodeOs: _nodeOs, ...rest } = clusterSpec();
  return { ...rest, model: 'public-cloud', kubernetesVersion: '1.31', ...(cloud ? { cloud } : {}), ...overrides };
}

/** What a consumer of the bus says of a ClusterRequested with this data: undefined when it is admitted. */
function refusal(data: Record<string, unknown>): string[] | undefined {
  const event = JSON.parse(JSON.stringify(clusterRequested())) as Record<string, unknown>;
  const result = validateEvent({ ...event, data });
  return result.ok ? undefined : result.reason.split('; ');
}

describe('a public-cloud cluster request', () => {
  it('is taken for each cloud with what that cloud needs, defaults filled', () => {
    for (const cloud of [eks, aks, gke]) assert.equal(refusal(publicCloud(cloud)), undefined, cloud.provider);
    const parsed = ClusterSpec.parse(publicCloud(aks));
    assert.deepEqual(parsed.cloud, { ...aks, networking: {}, endpointAccess: 'public', tags: {} });
    assert.equal(parsed.controlPlane, undefined);
  });

  it('takes node pools with autoscaling bounds around count', () => {
    const pools = [
      { name: 'general', count: 3, machineSize: 'm5.large', minCount: 1, maxCount: 10 },
      { name: 'fixed', count: 2, machineSize: 'm5.large', minCount: 2, maxCount: 2 },
      { name: 'plain', count: 0, machineSize: 'm5.large' },
    ];
    assert.equal(refusal(publicCloud(eks, { nodePools: pools })), undefined);
  });

  it('needs the cloud block, and refuses what describes machines Flotilla would run', () => {
    assert.deepEqual(refusal(publicCloud(undefined, { controlPlane: { count: 3, machineSize: 'm' }, nodeOs: 'flatcar', hosted: { workerModel: 'platform-provisioned' } })), [
      'data.cloud: required for model public-cloud',
      'data.controlPlane: must be absent for model public-cloud (the cloud runs the control plane and the machines)',
      'data.hosted: must be absent for model public-cloud (the cloud runs the control plane and the machines)',
      'data.nodeOs: must be absent for model public-cloud (the cloud runs the control plane and the machines)',
    ]);
  });

  it("names each provider's missing fields and the fields of another cloud", () => {
    assert.deepEqual(refusal(publicCloud({ provider: 'eks', credentialRef: 'aws', region: 'eu-west-1', projectId: 'p', networking: { subnetIds: ['only-one'], vnetSubnetId: 'x' } })), [
      'data.cloud.projectId: not for provider eks',
      'data.cloud.networking.clusterRoleArn: required for provider eks',
      'data.cloud.networking.nodeRoleArn: required for provider eks',
      'data.cloud.networking.vnetSubnetId: not for provider eks',
      'data.cloud.networking.subnetIds: must list at least 2 subnets (two availability zones), has 1',
    ]);
    assert.deepEqual(refusal(publicCloud({ provider: 'aks', credentialRef: 'az', region: 'westeurope', networking: { network: 'default' } })), [
      'data.cloud.subscriptionId: required for provider aks',
      'data.cloud.resourceGroup: required for provider aks',
      'data.cloud.networking.network: not for provider aks',
    ]);
    assert.deepEqual(refusal(publicCloud({ provider: 'gke', credentialRef: 'gcp', region: 'europe-west1', subscriptionId: 's' })), [
      'data.cloud.projectId: required for provider gke',
      'data.cloud.subscriptionId: not for provider gke',
      'data.cloud.networking.network: required for provider gke',
      'data.cloud.networking.subnetwork: required for provider gke',
    ]);
  });

  it('lists every problem at once, bad fields elsewhere included', () => {
    const pools = [
      { name: 'a', count: 3, machineSize: 'm', minCount: 4 },
      { name: 'b', count: 3, machineSize: 'm', maxCount: 2 },
      { name: 'c', count: 'three', machineSize: 'm', minCount: 5, maxCount: 1 },
    ];
    assert.deepEqual(refusal(publicCloud({ ...aks, provider: 'aks', endpointAccess: 'internal', resourceGroup: undefined }, { nodePools: pools, kubernetesVersion: 'latest' })), [
      'data.kubernetesVersion: must look like 1.33 or v1.33.4',
      'data.nodePools.2.count: Invalid input: expected number, received string',
      'data.cloud.endpointAccess: Invalid option: expected one of "public"|"private"',
      'data.nodePools.0.minCount: must be at most count (3), is 4',
      'data.nodePools.1.maxCount: must be at least count (3), is 2',
      'data.nodePools.2.maxCount: must be at least minCount (5), is 1',
      'data.cloud.resourceGroup: required for provider aks',
    ]);
  });

  it('bounds tags, keeps the ownership tag to Flotilla, and holds GKE tags to label syntax', () => {
    const many = Object.fromEntries(Array.from({ length: CLOUD_LIMITS.tags + 1 }, (_, index) => [`tag-${index}`, 'x']));
    assert.deepEqual(refusal(publicCloud({ ...eks, tags: many })), [`data.cloud.tags: must have at most ${CLOUD_LIMITS.tags} tags, has ${CLOUD_LIMITS.tags + 1}`]);
    assert.equal(refusal(publicCloud({ ...eks, tags: Object.fromEntries(Object.entries(many).slice(0, CLOUD_LIMITS.tags)) })), undefined);
    assert.deepEqual(refusal(publicCloud({ ...eks, tags: { 'flotilla-cluster-id': 'other', Team: 'v'.repeat(257), ['k'.repeat(129)]: 'x' } })), [
      'data.cloud.tags.flotilla-cluster-id: flotilla-cluster-id is set by Flotilla (the cluster id) and cannot be given',
      'data.cloud.tags.Team: value: must be at most 256 characters, is 257',
      'data.cloud.tags: a key must be 1 to 128 characters, is 129',
    ]);
    assert.deepEqual(refusal(publicCloud({ ...gke, tags: { Team: 'a', env: 'Prod', 'cost-centre': 'c_1' } })), [
      'data.cloud.tags.Team: key: a GKE label key is a lower-case letter then lower-case letters, digits, "-" or "_", at most 63 characters',
      'data.cloud.tags.env: value: a GKE label value is lower-case letters, digits, "-" or "_", at most 63 characters',
    ]);
  });
});

describe('the other models', () => {
  it('still need controlPlane, naming it', () => {
    for (const model of ['platform-provisioned', 'user-provisioned', 'hosted-control-plane'] as const) {
      const { controlPlane: _controlPlane, ...spec } = clusterSpec({ model });
      assert.deepEqual(refusal(spec), [`data.controlPlane: required for model ${model}`]);
    }
  });

  it('refuse a cloud block and autoscaling bounds', () => {
    const spec = clusterSpec({ nodePools: [{ name: 'w', count: 2, machineSize: 'm', labels: {}, taints: [], minCount: 1, maxCount: 3 }] });
    assert.deepEqual(refusal({ ...spec, cloud: eks }), [
      'data.cloud: only for model public-cloud, not platform-provisioned',
      'data.nodePools.0.minCount: only node pools of model public-cloud autoscale',
      'data.nodePools.0.maxCount: only node pools of model public-cloud autoscale',
    ]);
  });

  it('says in the JSON Schema which fields each cloud needs, for publishers in other languages', () => {
    const text = JSON.stringify(eventJsonSchema(ClusterRequested));
    for (const said of ['aks, required: the Azure subscription', 'gke, required: the GCP project', 'eks, required: subnet ids', 'required for platform-provisioned, user-provisioned and hosted-control-plane', `at most ${CLOUD_LIMITS.tags}`]) {
      assert.ok(text.includes(said), `the schema says "${said}"`);
    }
  });
});

describe('ClusterAdopted', () => {
  it('carries the cloud cluster as Flotilla manages it from now on', () => {
    const data = { model: 'public-cloud' as const, provider: 'gke' as const, region: 'europe-west1', kubernetesVersion: '1.31', nodePools: [{ name: 'pool-1', count: 3, machineSize: 'e2-standard-4', minCount: 1, maxCount: 5 }] };
    const event = createEvent(ClusterAdopted, { subject: 'shop-prod', source: '/flotilla/importer' }, data);
    assert.equal(validateEvent(JSON.parse(JSON.stringify(event)) as Record<string, unknown>).ok, true);
    const forged = validateEvent({ ...(JSON.parse(JSON.stringify(event)) as Record<string, unknown>), source: '/flotilla/provisioner' });
    assert.equal(forged.ok, false);
    const connected = validateEvent({ ...(JSON.parse(JSON.stringify(event)) as Record<string, unknown>), data: { ...data, model: 'connected' } });
    assert.equal(connected.ok ? undefined : connected.reason, 'data.model: Invalid input: expected "public-cloud"');
  });
});
