import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { CloudError } from '../errors.js';
import {
  AKS_SYSTEM_POOL,
  aksAgentPoolName,
  aksCluster,
  aksErrorCode,
  aksLifecycleError,
  aksPoolSize,
  aksResourceState,
  aksScaleChange,
  aksTaint,
  minorOf,
  observedAksCluster,
  observedAksNodeGroup,
  offeredMinors,
  resourceGroupOf,
  retryAfterMs,
} from './aks-mapping.js';
import { parseKubeconfig } from './kubeconfig.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('AKS mapping', () => {
  it('turns a managed cluster into ours; a stopped one reads Stopped', () => {
    const cluster = aksCluster({
      id: '/subscriptions/s/resourcegroups/rg-Prod/providers/Microsoft.ContainerService/managedClusters/prod',
      name: 'prod',
      location: 'westeurope',
      provisioningState: 'Succeeded',
      powerState: { code: 'Running' },
      kubernetesVersion: '1.30',
      currentKubernetesVersion: '1.30.5',
      fqdn: 'prod-dns-1.hcp.westeurope.azmk8s.io',
      agentPoolProfiles: [{ name: 'system', count: 3, vmSize: 'Standard_D4s_v5', orchestratorVersion: '1.30', currentOrchestratorVersion: '1.30.5' }],
    });
    assert.deepEqual(cluster, {
      provider: 'aks',
      name: 'prod',
      location: 'westeurope',
      resourceGroup: 'rg-Prod',
      version: '1.30.5',
      status: 'Succeeded',
      endpoint: 'https://prod-dns-1.hcp.westeurope.azmk8s.io:443',
      nodeGroups: [{ name: 'system', nodeCount: 3, instanceType: 'Standard_D4s_v5', version: '1.30.5' }],
    });
    assert.equal(aksCluster({ name: 'idle', location: 'x', provisioningState: 'Succeeded', powerState: { code: 'Stopped' } }).status, 'Stopped');
    assert.equal(aksCluster({ name: 'private', location: 'x', privateFqdn: 'p.privatelink.x.azmk8s.io' }).endpoint, 'https://p.privatelink.x.azmk8s.io:443');
    assert.equal(resourceGroupOf('/subscriptions/s/resourceGroups/rg1/providers/x'), 'rg1');
  });

  it('reads identity and ARM failures', () => {
    assert.equal(aksErrorCode({ name: 'RestError', statusCode: 404, code: 'ResourceNotFound' }), 'cloud-cluster-not-found');
    assert.equal(aksErrorCode({ name: 'RestError', statusCode: 403, code: 'AuthorizationFailed' }), 'cloud-access-denied');
    assert.equal(aksErrorCode({ name: 'RestError', statusCode: 429, code: 'TooManyRequests' }), 'cloud-throttled');
    assert.equal(aksErrorCode({ name: 'RestError', code: 'ECONNREFUSED' }), 'cloud-unreachable');
    assert.equal(aksErrorCode({ name: 'AuthenticationRequiredError' }), 'cloud-auth-failed');
    assert.equal(aksErrorCode({ name: 'AuthenticationError', statusCode: 401, errorResponse: { error: 'invalid_client' } }), 'cloud-auth-failed');
    assert.equal(aksErrorCode({ name: 'CredentialUnavailableError' }), 'cloud-unreachable');
  });

  it('reads server, CA and the user of the current context from a kubeconfig', () => {
    const document = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'b',
      clusters: [
        { name: 'a', cluster: { server: 'https://a:443', 'certificate-authority-data': b64('CA-A') } },
        { name: 'b', cluster: { server: 'https://b:443', 'certificate-authority-data': b64('CA-B') } },
      ],
      contexts: [
        { name: 'a', context: { cluster: 'a', user: 'ua' } },
        { name: 'b', context: { cluster: 'b', user: 'ub' } },
      ],
      users: [
        { name: 'ua', user: { token: 'token-a' } },
        { name: 'ub', user: { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') } },
      ],
    });
    assert.deepEqual(parseKubeconfig(document, 'test'), { server: 'https://b:443', caCertificatePem: 'CA-B', token: null, clientCertificatePem: 'CERT', clientKeyPem: 'KEY', exec: null });

    const entra = stringify({
      clusters: [{ name: 'c', cluster: { server: 'https://c:443', 'certificate-authority-data': b64('CA') } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      users: [{ name: 'u', user: { exec: { command: 'kubelogin', args: ['get-token', '--server-id', 'server-app', '--login', 'devicecode'] } } }],
    });
    assert.deepEqual(parseKubeconfig(entra, 'test').exec, { command: 'kubelogin', serverId: 'server-app' });
    assert.throws(() => parseKubeconfig('clusters: []', 'the kubeconfig'), /the kubeconfig names no server/);
    assert.throws(() => parseKubeconfig('{{{not yaml: token-secret', 'the kubeconfig'), (error: Error) => /not YAML/.test(error.message) && !error.message.includes('token-secret'));
  });
});

describe('AKS lifecycle mapping', () => {
  it('keeps a valid agent pool name and derives a valid, stable, distinct one otherwise', () => {
    assert.equal(aksAgentPoolName('general'), 'general');
    assert.equal(aksAgentPoolName('gpu2'), 'gpu2');
    const derived = ['general-purpose', 'general-purpose-2', 'Workers', '2fast', 'averyveryverylongname', AKS_SYSTEM_POOL, '---'].map(aksAgentPoolName);
    for (const name of derived) assert.match(name, /^[a-z][a-z0-9]{0,11}$/);
    assert.equal(new Set(derived).size, derived.length);
    assert.ok(!derived.includes(AKS_SYSTEM_POOL));
    assert.equal(aksAgentPoolName('general-purpose'), derived[0]);
    assert.match(derived[0] ?? '', /^genera[0-9a-f]{6}$/);
    for (const name of derived) assert.equal(aksAgentPoolName(name), name);
  });

  it('reads provisioningState words', () => {
    assert.deepEqual(
      ['Creating', 'Succeeded', 'Updating', 'Upgrading', 'Scaling', 'Deleting', 'Failed', 'Canceled', 'Starting', undefined].map(aksResourceState),
      ['creating', 'ready', 'updating', 'updating', 'updating', 'deleting', 'failed', 'failed', 'updating', 'updating'],
    );
  });

  it('observes a cluster and its owner, endpoint and failure', () => {
    const running = observedAksCluster({ location: 'westeurope', provisioningState: 'Succeeded', kubernetesVersion: '1.31', currentKubernetesVersion: '1.31.4', fqdn: 'c.hcp.westeurope.azmk8s.io', tags: { 'flotilla-cluster-id': 'c1' } });
    assert.deepEqual(running, { state: 'ready', version: '1.31.4', endpoint: 'https://c.hcp.westeurope.azmk8s.io:443', owner: 'c1', failure: null });
    const failed = observedAksCluster({ location: 'x', provisioningState: 'Failed', kubernetesVersion: '1.31', status: { provisioningError: { code: 'VMExtensionProvisioningError', message: 'extension failed' } } });
    assert.deepEqual({ state: failed.state, owner: failed.owner, failure: failed.failure, endpoint: failed.endpoint }, { state: 'failed', owner: null, failure: 'VMExtensionProvisioningError: extension failed', endpoint: null });
    assert.equal(observedAksCluster({ location: 'x', provisioningState: 'Canceled' }).failure, 'provisioningState Canceled');
  });

  it('observes an agent pool by its node group name, fixed or autoscaled', () => {
    const fixed = observedAksNodeGroup({ name: 'genera1a2b3c', count: 3, vmSize: 'Standard_D4s_v5', orchestratorVersion: '1.31', currentOrchestratorVersion: '1.31.4', provisioningState: 'Scaling', enableAutoScaling: false, tags: { 'flotilla-node-group': 'general-purpose' } });
    assert.deepEqual(fixed, { name: 'general-purpose', state: 'updating', version: '1.31.4', instanceType: 'Standard_D4s_v5', minSize: 3, maxSize: 3, desiredSize: 3, failure: null });
    const scaled = observedAksNodeGroup({ name: 'gpu', count: 2, enableAutoScaling: true, minCount: 1, maxCount: 5, provisioningState: 'Succeeded' });
    assert.deepEqual([scaled.name, scaled.minSize, scaled.maxSize, scaled.desiredSize, scaled.version], ['gpu', 1, 5, 2, null]);
  });

  it('writes taints and sizes as AKS takes them', () => {
    assert.equal(aksTaint({ key: 'gpu', value: 'true', effect: 'NoSchedule' }), 'gpu=true:NoSchedule');
    assert.equal(aksTaint({ key: 'dedicated', effect: 'NoExecute' }), 'dedicated:NoExecute');
    assert.deepEqual(aksPoolSize({ minSize: 2, maxSize: 2, desiredSize: 2 }), { count: 2, enableAutoScaling: false, minCount: undefined, maxCount: undefined });
    assert.deepEqual(aksPoolSize({ minSize: 1, maxSize: 4, desiredSize: 3 }), { count: 3, enableAutoScaling: true, minCount: 1, maxCount: 4 });
  });

  it('scales a count on its own with the autoscaler off, then sets the autoscaler as asked', () => {
    const fixed = (count: number) => ({ count, enableAutoScaling: false, minCount: undefined, maxCount: undefined });
    const autoscaled = { count: 2, enableAutoScaling: true, minCount: 1, maxCount: 4, provisioningState: 'Succeeded' };
    // The count differs: first that count alone (AKS refuses a count the autoscaler owns).
    assert.deepEqual(aksScaleChange(autoscaled, { minSize: 1, maxSize: 4, desiredSize: 3 }), fixed(3));
    // Then, the count right, the autoscaler back on with its bounds, the count as it is.
    assert.deepEqual(aksScaleChange({ ...fixed(3), provisioningState: 'Succeeded' }, { minSize: 1, maxSize: 4, desiredSize: 3 }), { count: 3, enableAutoScaling: true, minCount: 1, maxCount: 4 });
    assert.deepEqual(aksScaleChange(autoscaled, { minSize: 0, maxSize: 6, desiredSize: 2 }), { count: 2, enableAutoScaling: true, minCount: 0, maxCount: 6 });
    assert.equal(aksScaleChange(autoscaled, { minSize: 1, maxSize: 4, desiredSize: 2 }), null);
    // A fixed pool stays fixed; one at its size is left alone unless it failed.
    assert.deepEqual(aksScaleChange({ ...fixed(2), provisioningState: 'Succeeded' }, { minSize: 5, maxSize: 5, desiredSize: 5 }), fixed(5));
    assert.equal(aksScaleChange({ ...fixed(5), provisioningState: 'Succeeded' }, { minSize: 5, maxSize: 5, desiredSize: 5 }), null);
    assert.deepEqual(aksScaleChange({ ...fixed(5), provisioningState: 'Failed' }, { minSize: 5, maxSize: 5, desiredSize: 5 }), fixed(5));
  });

  it('lists offered minors oldest first without previews', () => {
    const minors = offeredMinors({
      values: [{ version: '1.31', patchVersions: { '1.31.4': { upgrades: [] } } }, { version: '1.33', isPreview: true }, { version: '1.29' }, { version: '1.30.7' }],
    });
    assert.deepEqual(minors, ['1.29', '1.30', '1.31']);
    assert.equal(minorOf('1.31.4'), '1.31');
    assert.equal(minorOf('v1.30'), '1.30');
  });

  it('reads Retry-After as seconds or a date', () => {
    assert.equal(retryAfterMs('7'), 7000);
    assert.equal(retryAfterMs('0.25'), 250);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(retryAfterMs(undefined), undefined);
    assert.equal(retryAfterMs('soon'), undefined);
  });

  it('types ARM failures of the lifecycle, with ARM message and Retry-After', () => {
    const restError = (statusCode: number, code: string, message: string, retryAfter?: string) =>
      Object.assign(new Error(message), { name: 'RestError', statusCode, code, response: { headers: { get: (name: string) => (name === 'retry-after' ? retryAfter : undefined) } } });
    const quota = aksLifecycleError(restError(400, 'ErrCode_InsufficientVCPUQuota', 'Insufficient regional vcpu quota left'), 'create');
    assert.equal(quota.code, 'cloud-quota-exceeded');
    assert.match(quota.message, /ErrCode_InsufficientVCPUQuota \(Insufficient regional vcpu quota left\)/);
    assert.equal(aksLifecycleError(restError(400, 'AgentPoolK8sVersionNotSupported', 'Version 1.28 is not supported'), 'create').code, 'cloud-version-not-offered');
    assert.equal(aksLifecycleError(restError(400, 'NodePoolMcVersionIncompatible', 'incompatible'), 'upgrade').code, 'cloud-version-not-offered');
    assert.equal(aksLifecycleError(restError(400, 'UpgradeNotAllowed', 'skip'), 'upgrade').code, 'cloud-version-not-offered');
    const invalid = aksLifecycleError(restError(400, 'InvalidParameter', "The agent pool name 'Gpu' is invalid"), 'create');
    assert.equal(invalid.code, 'cloud-request-invalid');
    assert.match(invalid.message, /InvalidParameter \(The agent pool name 'Gpu' is invalid\)/);
    assert.equal(aksLifecycleError(restError(400, 'BadRequest', 'bad'), 'create').code, 'cloud-request-invalid');
    assert.equal(aksLifecycleError(restError(404, 'LocationNotAvailableForResourceType', 'no'), 'versions').code, 'cloud-location-invalid');
    const throttled = aksLifecycleError(restError(429, 'SubscriptionRequestsThrottled', 'too many', '3'), 'get');
    assert.deepEqual([throttled.code, throttled.retryAfterMs], ['cloud-throttled', 3000]);
    assert.equal(aksLifecycleError(restError(403, 'AuthorizationFailed', 'denied'), 'get').code, 'cloud-access-denied');
    assert.equal(aksLifecycleError(restError(404, 'ResourceNotFound', 'gone'), 'get').code, 'cloud-cluster-not-found');
    const identity = aksLifecycleError(Object.assign(new Error('AADSTS7000215: Invalid client secret abc'), { name: 'AuthenticationError', statusCode: 401, errorResponse: { error: 'invalid_client' } }), 'get');
    assert.equal(identity.code, 'cloud-auth-failed');
    assert.ok(!identity.message.includes('abc'));
    const typed = new CloudError('cloud-name-taken', 'x');
    assert.equal(aksLifecycleError(typed, 'create'), typed);
  });
});
