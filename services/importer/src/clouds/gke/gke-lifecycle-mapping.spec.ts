import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OWNERSHIP_TAG } from '../lifecycle.js';
import {
  BOOTSTRAP_POOL,
  decodeGkeOperation,
  encodeGkeOperation,
  gkeClusterRequest,
  gkeClusterState,
  gkeLabels,
  gkeNodePoolRequest,
  gkeNodePoolState,
  gkeObservedCluster,
  gkeObservedNodeGroup,
  gkeOfferedMinors,
  gkeOperationName,
  gkeOperationStatus,
} from './gke-lifecycle-mapping.js';

const caPem = '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n';
const tags = { [OWNERSHIP_TAG]: '0b9e5c1e-7f0a-4a7e-9c55-3f1d2b6a8e01', 'Cost Center': 'R&D/42' };

describe('GKE lifecycle mapping', () => {
  it('maps cluster and node pool status words to states', () => {
    assert.equal(gkeClusterState('PROVISIONING'), 'creating');
    assert.equal(gkeClusterState('RUNNING'), 'ready');
    assert.equal(gkeClusterState('RECONCILING'), 'updating');
    assert.equal(gkeClusterState('STOPPING'), 'deleting');
    assert.equal(gkeClusterState('ERROR'), 'failed');
    assert.equal(gkeClusterState('DEGRADED'), 'failed');
    assert.equal(gkeNodePoolState('RUNNING_WITH_ERROR'), 'failed');
    assert.equal(gkeNodePoolState('RUNNING'), 'ready');
    assert.throws(() => gkeClusterState('SLEEPING'), /unknown cluster status "SLEEPING"/);
  });

  it('observes a cluster: endpoint as https, owner from its label; the bootstrap pool keeps it creating', () => {
    const cluster = {
      name: 'fl-x',
      status: 'RUNNING' as const,
      currentMasterVersion: '1.31.5-gke.1233000',
      endpoint: '34.76.1.2',
      masterAuth: { clusterCaCertificate: Buffer.from(caPem).toString('base64') },
      resourceLabels: { [OWNERSHIP_TAG]: 'abc' },
      nodePools: [{ name: 'general' }],
    };
    assert.deepEqual(gkeObservedCluster(cluster), { state: 'ready', version: '1.31.5-gke.1233000', endpoint: 'https://34.76.1.2', owner: 'abc', failure: null });
    assert.equal(gkeObservedCluster({ ...cluster, nodePools: [{ name: BOOTSTRAP_POOL }] }).state, 'creating');
    // Numeric enums (what the REST transport asks for), absent strings as '' (protobuf defaults).
    assert.deepEqual(gkeObservedCluster({ name: 'y', status: 1, endpoint: '', masterAuth: { clusterCaCertificate: '' }, resourceLabels: {} }), {
      state: 'creating',
      version: '',
      endpoint: null,
      owner: null,
      failure: null,
    });
    assert.equal(gkeObservedCluster({ name: 'z', status: 'ERROR', statusMessage: 'Quota exhausted' }).failure, 'Quota exhausted');
    assert.equal(gkeObservedCluster({ name: 'z', status: 'DEGRADED', conditions: [{ message: 'Nodes cannot reach the control plane' }] }).failure, 'Nodes cannot reach the control plane');
  });

  it('observes a node pool: fixed size, or the autoscaler bounds with the current size', () => {
    assert.deepEqual(gkeObservedNodeGroup({ name: 'general', status: 'RUNNING', initialNodeCount: 2, version: '1.31.5-gke.1233000', config: { machineType: 'e2-standard-4' } }), {
      name: 'general',
      state: 'ready',
      version: '1.31.5-gke.1233000',
      instanceType: 'e2-standard-4',
      minSize: 2,
      maxSize: 2,
      desiredSize: 2,
      nodes: 2,
      failure: null,
    });
    // Sizes are per zone: a pool of 2 in three zones runs 6 nodes.
    const regional = gkeObservedNodeGroup({ name: 'general', status: 'RUNNING', initialNodeCount: 2, locations: ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'] });
    assert.deepEqual([regional.desiredSize, regional.nodes], [2, 6]);
    const autoscaled = gkeObservedNodeGroup({ name: 'batch', status: 'RUNNING_WITH_ERROR', statusMessage: 'ZONE_RESOURCE_POOL_EXHAUSTED', initialNodeCount: 3, autoscaling: { enabled: true, minNodeCount: 1, maxNodeCount: 6 } });
    assert.deepEqual([autoscaled.minSize, autoscaled.maxSize, autoscaled.desiredSize, autoscaled.state, autoscaled.failure], [1, 6, 3, 'failed', 'ZONE_RESOURCE_POOL_EXHAUSTED']);
  });

  it('reads offered minors from the server config, oldest first', () => {
    assert.deepEqual(gkeOfferedMinors(['1.32.1-gke.1357000', '1.31.5-gke.1233000', '1.31.4-gke.1000', '1.30.9-gke.1127000', '1.9.7', 'latest']), ['1.9', '1.30', '1.31', '1.32']);
    assert.deepEqual(gkeOfferedMinors([]), []);
  });

  it('turns tags into labels GKE takes', () => {
    assert.deepEqual(gkeLabels(tags), { [OWNERSHIP_TAG]: tags[OWNERSHIP_TAG], cost_center: 'r_d_42' });
    assert.deepEqual(gkeLabels({ '9lives': 'x'.repeat(70) }), { t9lives: 'x'.repeat(63) });
  });

  it('builds the create requests: a labelled cluster with its bootstrap pool, pools autoscaled when min < max', () => {
    const cluster = gkeClusterRequest('fl-a', { kubernetesVersion: '1.31', endpointAccess: 'private', networking: { provider: 'gke', network: 'vpc', subnetwork: 'nodes' }, tags });
    assert.equal(cluster.initialClusterVersion, '1.31');
    assert.equal(cluster.resourceLabels?.[OWNERSHIP_TAG], tags[OWNERSHIP_TAG]);
    assert.deepEqual(cluster.privateClusterConfig, { enablePrivateNodes: true, enablePrivateEndpoint: true, masterIpv4CidrBlock: '172.16.0.0/28' });
    assert.deepEqual(cluster.nodePools?.map((pool) => [pool.name, pool.initialNodeCount, pool.config?.resourceLabels?.[OWNERSHIP_TAG]]), [[BOOTSTRAP_POOL, 1, tags[OWNERSHIP_TAG]]]);
    assert.throws(() => gkeClusterRequest('fl-a', { kubernetesVersion: '1.31', endpointAccess: 'public', networking: { provider: 'gke', network: 'v', subnetwork: 's' }, tags: {} }), /no flotilla-cluster-id tag/);
    assert.throws(() => gkeClusterRequest('fl-a', { kubernetesVersion: '1.31', endpointAccess: 'public', networking: { provider: 'aks' }, tags }), /given aks networking/);

    const spec = { kubernetesVersion: '1.31', endpointAccess: 'public' as const, networking: { provider: 'gke' as const, network: 'v', subnetwork: 's' }, tags };
    const pool = gkeNodePoolRequest({ name: 'batch', instanceType: 'n2-highmem-8', minSize: 1, maxSize: 4, desiredSize: 2, labels: { tier: 'batch' }, taints: [{ key: 'batch', effect: 'NoExecute' }] }, spec);
    assert.deepEqual(pool.autoscaling, { enabled: true, minNodeCount: 1, maxNodeCount: 4 });
    assert.equal(pool.initialNodeCount, 2);
    assert.deepEqual(pool.config?.taints, [{ key: 'batch', value: '', effect: 3 }]);
    assert.equal(gkeNodePoolRequest({ name: 'fixed', instanceType: 'e2-medium', minSize: 3, maxSize: 3, desiredSize: 3, labels: {}, taints: [] }, spec).autoscaling, undefined);
    assert.throws(() => gkeNodePoolRequest({ name: BOOTSTRAP_POOL, instanceType: 'e2-medium', minSize: 1, maxSize: 1, desiredSize: 1, labels: {}, taints: [] }, spec), /flotilla-bootstrap/);
  });

  it('encodes operations with their follow-up and refuses what it did not hand out', () => {
    assert.equal(encodeGkeOperation({ name: 'operation-1-ab' }), 'operation-1-ab');
    assert.equal(encodeGkeOperation({ name: 'operation-1-ab', then: 'drop-bootstrap' }), 'operation-1-ab;then=drop-bootstrap');
    assert.deepEqual(decodeGkeOperation('operation-1-ab;then=delete-cluster'), { name: 'operation-1-ab', then: 'delete-cluster' });
    assert.deepEqual(decodeGkeOperation('operation-1-ab'), { name: 'operation-1-ab' });
    for (const bad of ['', 'operation-1;then=reboot', 'a/b', 'operation-1;then=drop-bootstrap;x']) assert.throws(() => decodeGkeOperation(bad), /not a GKE operation/);
  });

  it('reads operation status: under way, done, done with GKE’s error', () => {
    assert.deepEqual(gkeOperationStatus({ status: 'RUNNING' }), { done: false });
    assert.deepEqual(gkeOperationStatus({ status: 1 }), { done: false });
    assert.deepEqual(gkeOperationStatus({ status: 'DONE' }), { done: true, failure: null });
    assert.deepEqual(gkeOperationStatus({ status: 3, error: { code: 13, message: 'Not enough resources' } }), { done: true, failure: 'Not enough resources', code: 'cloud-failed' });
    assert.deepEqual(gkeOperationStatus({ status: 3, error: { code: 3, message: 'Invalid subnetwork' } }), { done: true, failure: 'Invalid subnetwork', code: 'cloud-request-invalid' });
    assert.deepEqual(gkeOperationStatus({ status: 3, error: { code: 8, message: 'Insufficient regional quota to satisfy request' } }), {
      done: true,
      failure: 'Insufficient regional quota to satisfy request',
      code: 'cloud-quota-exceeded',
    });
    assert.deepEqual(gkeOperationStatus({ status: 'DONE', statusMessage: 'Deprecated message' }), { done: true, failure: 'Deprecated message', code: 'cloud-failed' });
    assert.equal(gkeOperationName({ name: 'operation-9-ff' }), 'operation-9-ff');
    assert.equal(gkeOperationName({ name: '', selfLink: 'https://container.googleapis.com/v1/projects/p/locations/l/operations/operation-7-aa' }), 'operation-7-aa');
    assert.throws(() => gkeOperationName({}), /without a name/);
  });
});
