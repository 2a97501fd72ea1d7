import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloudError } from '../errors.js';
import { OWNERSHIP_TAG, type CloudClusterSpec, type CloudTarget } from '../lifecycle.js';
import {
  eksClusterState,
  eksCreateClusterRequest,
  eksCreateNodegroupRequest,
  eksNodegroupState,
  eksOperation,
  eksRegionOf,
  eksUpdateStatus,
  minorOf,
  observedEksCluster,
  observedEksNodegroup,
  offeredEksVersions,
  parseEksOperation,
} from './eks-lifecycle-mapping.js';

const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const target: CloudTarget = { provider: 'eks', region: 'eu-west-1', clusterName: 'flotilla-0a1b2c3d' };
const spec: CloudClusterSpec = {
  kubernetesVersion: '1.31',
  endpointAccess: 'private',
  networking: {
    provider: 'eks',
    subnetIds: ['subnet-a', 'subnet-b'],
    securityGroupIds: ['sg-1'],
    clusterRoleArn: 'arn:aws:iam::123456789012:role/eks-cluster',
    nodeRoleArn: 'arn:aws:iam::123456789012:role/eks-node',
  },
  tags: { [OWNERSHIP_TAG]: '0a1b2c3d-cluster', team: 'payments' },
};

function cloudError(run: () => unknown): CloudError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof CloudError, String(error));
    return error;
  }
  assert.fail('expected a CloudError');
}

describe('EKS lifecycle mapping', () => {
  it('maps every cluster and node group status word, and refuses an unknown one', () => {
    assert.deepEqual(
      ['CREATING', 'PENDING', 'ACTIVE', 'UPDATING', 'DELETING', 'FAILED'].map((status) => eksClusterState(status, 'c')),
      ['creating', 'creating', 'ready', 'updating', 'deleting', 'failed'],
    );
    assert.deepEqual(
      ['CREATING', 'ACTIVE', 'UPDATING', 'DELETING', 'CREATE_FAILED', 'DELETE_FAILED', 'DEGRADED'].map((status) => eksNodegroupState(status, 'g')),
      ['creating', 'ready', 'updating', 'deleting', 'failed', 'failed', 'failed'],
    );
    assert.equal(cloudError(() => eksClusterState('EXPLODED', 'c')).code, 'cloud-response-invalid');
    assert.equal(cloudError(() => eksNodegroupState(undefined, 'g')).code, 'cloud-response-invalid');
  });

  it('observes a cluster: endpoint once there, owner from the tag, failure from the health issues', () => {
    assert.deepEqual(observedEksCluster({ name: 'c', status: 'CREATING', version: '1.31', tags: { [OWNERSHIP_TAG]: 'id-1' } }), {
      state: 'creating',
      version: '1.31',
      endpoint: null,
      owner: 'id-1',
      failure: null,
    });
    const ready = observedEksCluster({ name: 'c', status: 'ACTIVE', version: '1.31', endpoint: 'https://X.eks.amazonaws.com', certificateAuthority: { data: Buffer.from(pem).toString('base64') } });
    assert.equal(ready.endpoint, 'https://X.eks.amazonaws.com');
    assert.equal(ready.owner, null);
    const failed = observedEksCluster({ name: 'c', status: 'FAILED', health: { issues: [{ code: 'Ec2SubnetNotFound', message: 'The subnet ID subnet-a does not exist' }] } });
    assert.equal(failed.failure, 'Ec2SubnetNotFound: The subnet ID subnet-a does not exist');
    assert.equal(observedEksCluster({ name: 'c', status: 'FAILED' }).failure, 'FAILED');
  });

  it('observes a node group: sizes, first instance type, failure of a failed one', () => {
    assert.deepEqual(
      observedEksNodegroup({
        nodegroupName: 'workers',
        status: 'CREATE_FAILED',
        version: '1.31',
        instanceTypes: ['m6i.large'],
        scalingConfig: { minSize: 1, maxSize: 4, desiredSize: 2 },
        health: { issues: [{ code: 'AsgInstanceLaunchFailures', message: 'VcpuLimitExceeded' }, { code: 'NodeCreationFailure' }] },
      }),
      { name: 'workers', state: 'failed', version: '1.31', instanceType: 'm6i.large', minSize: 1, maxSize: 4, desiredSize: 2, failure: 'AsgInstanceLaunchFailures: VcpuLimitExceeded; NodeCreationFailure', failureCode: 'cloud-quota-exceeded' },
    );
    assert.equal(observedEksNodegroup({ nodegroupName: 'lt', status: 'ACTIVE' }).instanceType, null);
  });

  it('reads the offered versions: supported ones, as major.minor, deduplicated and in order', () => {
    assert.deepEqual(
      offeredEksVersions([
        { clusterVersion: '1.31', versionStatus: 'STANDARD_SUPPORT' },
        { clusterVersion: '1.29', versionStatus: 'EXTENDED_SUPPORT' },
        { clusterVersion: '1.9', versionStatus: 'STANDARD_SUPPORT' },
        { clusterVersion: '1.24', versionStatus: 'UNSUPPORTED' },
        { clusterVersion: '1.23', status: 'unsupported' },
        { clusterVersion: '1.30.6', status: 'standard-support' },
        { clusterVersion: '1.31' },
        { clusterVersion: 'latest' },
      ]),
      ['1.9', '1.29', '1.30', '1.31'],
    );
    assert.equal(minorOf('v1.31.4-eks-1234'), '1.31');
    assert.equal(minorOf('1.30'), '1.30');
    assert.equal(minorOf('next'), null);
  });

  it('reads an update: in progress, successful, failed with the errors EKS gave, cancelled', () => {
    assert.deepEqual(eksUpdateStatus({ id: 'u', status: 'InProgress' }), { done: false });
    assert.deepEqual(eksUpdateStatus({ id: 'u', status: 'Successful' }), { done: true, failure: null });
    assert.deepEqual(eksUpdateStatus({ id: 'u', status: 'Failed', errors: [{ errorCode: 'NodeCreationFailure', errorMessage: 'Instances failed to join the kubernetes cluster' }] }), {
      done: true,
      failure: 'NodeCreationFailure: Instances failed to join the kubernetes cluster',
      code: 'cloud-failed',
    });
    assert.deepEqual(eksUpdateStatus({ id: 'u', status: 'Failed', errors: [{ errorCode: 'InsufficientFreeAddresses', errorMessage: 'no free IPs' }] }), {
      done: true,
      failure: 'InsufficientFreeAddresses: no free IPs',
      code: 'cloud-quota-exceeded',
    });
    assert.deepEqual(eksUpdateStatus({ id: 'u', status: 'Failed' }), { done: true, failure: 'update u failed', code: 'cloud-failed' });
    assert.deepEqual(eksUpdateStatus({ id: 'u', status: 'Cancelled' }), { done: true, failure: 'update u was cancelled', code: 'cloud-failed' });
    assert.equal(cloudError(() => eksUpdateStatus({ id: 'u', status: 'Paused' as 'InProgress' })).code, 'cloud-response-invalid');
  });

  it('keeps the node group with an update id in the operation, and reads it back', () => {
    assert.equal(eksOperation({ id: 'u-1' }, 'x'), 'cluster/u-1');
    assert.equal(eksOperation({ id: 'u-2' }, 'x', 'workers'), 'nodegroup/workers/u-2');
    assert.deepEqual(parseEksOperation('cluster/u-1'), { updateId: 'u-1' });
    assert.deepEqual(parseEksOperation('nodegroup/workers/u-2'), { nodegroupName: 'workers', updateId: 'u-2' });
    assert.equal(cloudError(() => parseEksOperation('operation-123')).code, 'cloud-response-invalid');
    assert.equal(cloudError(() => eksOperation({}, 'UpdateClusterVersion')).code, 'cloud-response-invalid');
  });

  it('builds CreateCluster: token, roles, subnets, endpoint access, tags with the owner, creator as admin', () => {
    assert.deepEqual(eksCreateClusterRequest(target, spec, 'token-1'), {
      name: 'flotilla-0a1b2c3d',
      version: '1.31',
      roleArn: 'arn:aws:iam::123456789012:role/eks-cluster',
      resourcesVpcConfig: { subnetIds: ['subnet-a', 'subnet-b'], securityGroupIds: ['sg-1'], endpointPublicAccess: false, endpointPrivateAccess: true },
      accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP', bootstrapClusterCreatorAdminPermissions: true },
      tags: { [OWNERSHIP_TAG]: '0a1b2c3d-cluster', team: 'payments' },
      clientRequestToken: 'token-1',
    });
    assert.equal(eksCreateClusterRequest(target, { ...spec, endpointAccess: 'public' }, 't').resourcesVpcConfig?.endpointPublicAccess, true);
  });

  it('builds CreateNodegroup: sizes, instance type, taints in EKS words, node role, tags', () => {
    const request = eksCreateNodegroupRequest(
      target,
      spec,
      { name: 'gpu', instanceType: 'g5.xlarge', minSize: 0, maxSize: 3, desiredSize: 1, labels: { pool: 'gpu' }, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }, { key: 'x', effect: 'PreferNoSchedule' }, { key: 'y', effect: 'NoExecute' }] },
      'token-2',
    );
    assert.deepEqual(request, {
      clusterName: 'flotilla-0a1b2c3d',
      nodegroupName: 'gpu',
      scalingConfig: { minSize: 0, maxSize: 3, desiredSize: 1 },
      instanceTypes: ['g5.xlarge'],
      subnets: ['subnet-a', 'subnet-b'],
      nodeRole: 'arn:aws:iam::123456789012:role/eks-node',
      labels: { pool: 'gpu' },
      taints: [
        { key: 'gpu', value: 'true', effect: 'NO_SCHEDULE' },
        { key: 'x', effect: 'PREFER_NO_SCHEDULE' },
        { key: 'y', effect: 'NO_EXECUTE' },
      ],
      tags: { [OWNERSHIP_TAG]: '0a1b2c3d-cluster', team: 'payments' },
      clientRequestToken: 'token-2',
    });
  });

  it('refuses a spec it cannot create from, naming every field at fault', () => {
    const bad = cloudError(() =>
      eksCreateClusterRequest(
        target,
        { ...spec, networking: { provider: 'eks', subnetIds: ['subnet-a'], securityGroupIds: [], clusterRoleArn: ' ', nodeRoleArn: 'arn:aws:iam::1:role/n' }, tags: { team: 'x' } },
        't',
      ),
    );
    assert.equal(bad.code, 'cloud-location-invalid');
    assert.equal(bad.field, 'cloud.networking.subnetIds');
    assert.match(bad.message, /cloud\.networking\.subnetIds .*; cloud\.networking\.clusterRoleArn is required; cloud\.tags\.flotilla-cluster-id must be the cluster id/);
    assert.equal(cloudError(() => eksCreateClusterRequest(target, { ...spec, networking: { provider: 'gke', network: 'n', subnetwork: 's' } }, 't')).field, 'cloud.networking');
    assert.equal(cloudError(() => eksRegionOf({ provider: 'gke', projectId: 'p', location: 'europe-west1' })).code, 'cloud-location-invalid');
    assert.equal(eksRegionOf(target), 'eu-west-1');
  });
});
