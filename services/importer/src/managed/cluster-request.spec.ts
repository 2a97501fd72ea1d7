import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSupportMatrix } from '@flotilla/contracts';
import { decideClusterRequest, type PublicCloudRequest, type RequestCredential } from './cluster-request.js';
import { closeGate, gateOpen, heldUntil, MAX_GATE_REOPEN_SPREAD_MS } from './throttle.js';

const policy = { release: '4.3', matrix: defaultSupportMatrix };
const awsAccount = { ref: 'aws-main', kind: 'cloud-account', expiresAt: null, binding: null, metadata: { provider: 'eks' as const } } satisfies RequestCredential;

const eksRequest = (overrides: Partial<PublicCloudRequest> = {}): PublicCloudRequest => ({
  name: 'shop',
  kubernetesVersion: '1.31',
  nodePools: [
    { name: 'workers', count: 3, machineSize: 'm6i.large' },
    { name: 'batch', count: 0, machineSize: 'c6i.2xlarge', maxCount: 10, labels: { tier: 'batch' }, taints: [{ key: 'batch', effect: 'NoSchedule' }] },
  ],
  cloud: {
    provider: 'eks',
    credentialRef: 'aws-main',
    region: 'eu-west-1',
    networking: { subnetIds: ['subnet-a', 'subnet-b'], clusterRoleArn: 'arn:aws:iam::1:role/eks', nodeRoleArn: 'arn:aws:iam::1:role/node' },
    tags: { team: 'shop' },
  },
  ...overrides,
});

const fields = (decision: ReturnType<typeof decideClusterRequest>) => (decision.kind === 'refused' ? decision.reasons.map((reason) => `${reason.field}:${reason.code}`) : []);

describe('a request for a public cloud cluster (decideClusterRequest)', () => {
  it('given a complete EKS request: the desired state, the ownership tag added, pools sorted with their bounds', () => {
    const decision = decideClusterRequest('shop-prod', eksRequest(), awsAccount, policy);
    assert.equal(decision.kind, 'accepted');
    if (decision.kind !== 'accepted') return;
    assert.deepEqual(decision.desired.place, { provider: 'eks', region: 'eu-west-1' });
    assert.deepEqual(decision.desired.spec.tags, { team: 'shop', 'flotilla-cluster-id': 'shop-prod' });
    assert.equal(decision.desired.spec.endpointAccess, 'public');
    assert.deepEqual(
      decision.desired.nodeGroups.map((group) => [group.name, group.minSize, group.desiredSize, group.maxSize]),
      [
        ['batch', 0, 0, 10],
        ['workers', 3, 3, 3],
      ],
    );
    assert.deepEqual(decision.desired.nodeGroups[0]?.taints, [{ key: 'batch', effect: 'NoSchedule' }]);
  });

  it('given a patch version: asks the cloud for the minor', () => {
    const decision = decideClusterRequest('shop-prod', eksRequest({ kubernetesVersion: 'v1.31.4' }), awsAccount, policy);
    assert.equal(decision.kind === 'accepted' && decision.desired.spec.kubernetesVersion, '1.31');
  });

  it('given many problems: every one at once, each naming its field', () => {
    const request = eksRequest({
      kubernetesVersion: '1.99',
      nodePools: [
        { name: 'workers', count: 3, machineSize: 'm6i.large', minCount: 4 },
        { name: 'workers', count: 3, machineSize: 'm6i.large', maxCount: 2 },
      ],
      cloud: { provider: 'eks', credentialRef: 'gone', region: '', networking: { subnetIds: ['subnet-a'] }, tags: { 'flotilla-cluster-id': 'x' } },
    });
    assert.deepEqual(fields(decideClusterRequest('shop-prod', request, undefined, policy)), [
      'kubernetesVersion:onboard-out-of-range',
      'cloud.credentialRef:credential-not-found',
      'cloud.region:cloud-location-required',
      'cloud.networking.subnetIds:cloud-networking-required',
      'cloud.networking.clusterRoleArn:cloud-networking-required',
      'cloud.networking.nodeRoleArn:cloud-networking-required',
      'nodePools[0].minCount:node-pool-bounds',
      'nodePools[1].name:node-pool-duplicate',
      'nodePools[1].maxCount:node-pool-bounds',
      'cloud.tags.flotilla-cluster-id:cloud-tag-reserved',
    ]);
  });

  it('given an account of another provider, or a token: credential-kind-mismatch', () => {
    const azure: RequestCredential = { ...awsAccount, metadata: { provider: 'aks' } };
    assert.deepEqual(fields(decideClusterRequest('shop-prod', eksRequest(), azure, policy)), ['cloud.credentialRef:credential-kind-mismatch']);
    const token: RequestCredential = { ...awsAccount, kind: 'bearer-token', metadata: {} };
    assert.deepEqual(fields(decideClusterRequest('shop-prod', eksRequest(), token, policy)), ['cloud.credentialRef:credential-kind-mismatch']);
  });

  it('given AKS and GKE requests: each cloud\'s own place and network fields are required', () => {
    const azure: RequestCredential = { ...awsAccount, metadata: { provider: 'aks' } };
    const aks = eksRequest({ cloud: { provider: 'aks', credentialRef: 'az', region: 'westeurope' } });
    assert.deepEqual(fields(decideClusterRequest('c', aks, azure, policy)), ['cloud.subscriptionId:cloud-location-required', 'cloud.resourceGroup:cloud-location-required']);
    const fine = decideClusterRequest('c', eksRequest({ cloud: { provider: 'aks', credentialRef: 'az', region: 'westeurope', subscriptionId: 's', resourceGroup: 'rg' } }), azure, policy);
    assert.deepEqual(fine.kind === 'accepted' && fine.desired.place, { provider: 'aks', subscriptionId: 's', resourceGroup: 'rg', location: 'westeurope' });
    const google: RequestCredential = { ...awsAccount, metadata: { provider: 'gke' } };
    const gke = eksRequest({ cloud: { provider: 'gke', credentialRef: 'g', region: 'europe-west1', networking: { network: 'default' } } });
    assert.deepEqual(fields(decideClusterRequest('c', gke, google, policy)), ['cloud.projectId:cloud-location-required', 'cloud.networking.subnetwork:cloud-networking-required']);
  });

  it('given no cloud block: cloud-required', () => {
    assert.deepEqual(fields(decideClusterRequest('c', eksRequest({ cloud: undefined }), awsAccount, policy)), ['cloud:cloud-required']);
  });

  it('given more than 50 tags: cloud-tags-too-many', () => {
    const tags = Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`t${index}`, 'v']));
    const request = eksRequest({ cloud: { ...eksRequest().cloud!, tags } });
    assert.deepEqual(fields(decideClusterRequest('c', request, awsAccount, policy)), ['cloud.tags:cloud-tags-too-many']);
  });
});

describe('the throttle gate of a cloud account', () => {
  const now = new Date('2026-12-06T12:00:00Z');

  it('closes for the Retry-After the cloud gave, else for the fallback', () => {
    assert.equal(closeGate(null, now, 7_000, 1_000).getTime() - now.getTime(), 7_000);
    assert.equal(closeGate(null, now, undefined, 1_000).getTime() - now.getTime(), 1_000);
  });

  it('never opens earlier than a gate another replica set', () => {
    const later = new Date(now.getTime() + 60_000);
    assert.equal(closeGate(later, now, 5_000, 1_000), later);
  });

  it('spreads the clusters it held over part of the wait once it opens, each at a place fixed by its id', () => {
    const at = new Date(now.getTime() + 10_000);
    const times = Array.from({ length: 50 }, (_, i) => heldUntil(at, now, `cluster-${i}`).getTime() - at.getTime());
    for (const offset of times) assert.ok(offset >= 0 && offset < 5_000, `offset ${offset}`);
    assert.ok(new Set(times).size > 40, 'the clusters do not all come back at once');
    assert.equal(heldUntil(at, now, 'cluster-7').getTime(), heldUntil(at, now, 'cluster-7').getTime());
    const far = new Date(now.getTime() + 10 * 60_000);
    assert.ok(heldUntil(far, now, 'cluster-1').getTime() - far.getTime() < MAX_GATE_REOPEN_SPREAD_MS);
  });

  it('is open once its time has come', () => {
    assert.deepEqual(gateOpen(null, now), { open: true });
    assert.deepEqual(gateOpen(new Date(now.getTime() - 1), now), { open: true });
    assert.deepEqual(gateOpen(new Date(now.getTime() + 1), now), { open: false, at: new Date(now.getTime() + 1) });
  });
});
