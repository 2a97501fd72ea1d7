import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { aksCluster, aksErrorCode, resourceGroupOf } from './aks-mapping.js';
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
