import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterId, type ClusterSpec } from '@flotilla/contracts';
import { sizeControlPlane } from './sizing.js';
import { fullKubernetesVersion, joinEndpointFor, namespaceFor, tenantControlPlane } from './tenant-control-plane.js';

const spec: ClusterSpec = {
  name: 'tenant',
  model: 'hosted-control-plane',
  kubernetesVersion: '1.34',
  controlPlane: { count: 3, machineSize: 'hosted' },
  nodePools: [{ name: 'workers', count: 20, machineSize: 'm', labels: {}, taints: [] }],
  network: { podCidr: '10.200.0.0/16', serviceCidr: '10.100.0.0/16' },
  hosted: { workerModel: 'platform-provisioned' },
};

describe('TenantControlPlane', () => {
  it("has Kamaji's shape, the size's requests per component and the spec's replicas, version and networks", () => {
    const manifest = tenantControlPlane({ clusterId: 'shop-1a2b3c', spec, sizing: sizeControlPlane(spec), managementCluster: { name: 'mgmt-eu', ingressDomain: 'hcp.eu.example.com', dataStore: 'etcd-eu' } });
    const labels = { 'app.kubernetes.io/managed-by': 'flotilla', 'flotilla.io/cluster-id': 'shop-1a2b3c', 'flotilla.io/control-plane-size': 'medium', 'tenant.clastix.io': 'shop-1a2b3c' };
    assert.deepEqual(manifest, {
      apiVersion: 'kamaji.clastix.io/v1alpha1',
      kind: 'TenantControlPlane',
      metadata: { name: 'shop-1a2b3c', namespace: 'hcp-shop-1a2b3c', labels },
      spec: {
        dataStore: 'etcd-eu',
        controlPlane: {
          deployment: {
            replicas: 3,
            additionalMetadata: { labels },
            resources: {
              apiServer: { requests: { cpu: '500m', memory: '1024Mi' } },
              controllerManager: { requests: { cpu: '200m', memory: '512Mi' } },
              scheduler: { requests: { cpu: '100m', memory: '256Mi' } },
            },
          },
          service: { serviceType: 'LoadBalancer', additionalMetadata: { labels } },
        },
        kubernetes: { version: 'v1.34.0', kubelet: { cgroupfs: 'systemd', preferredAddressTypes: ['InternalIP', 'ExternalIP', 'Hostname'] } },
        networkProfile: { port: 6443, certSANs: ['shop-1a2b3c.hcp.eu.example.com'], podCidr: '10.200.0.0/16', serviceCidr: '10.100.0.0/16' },
        addons: { coreDNS: {}, kubeProxy: {}, konnectivity: { server: { port: 8132, resources: { requests: { cpu: '100m', memory: '128Mi' } } } } },
      },
    });
  });

  it('versions are full and v-prefixed', () => {
    assert.equal(fullKubernetesVersion('1.34'), 'v1.34.0');
    assert.equal(fullKubernetesVersion('1.33.4'), 'v1.33.4');
    assert.equal(fullKubernetesVersion('v1.32.7'), 'v1.32.7');
  });

  it('workers join <cluster id>.<ingress domain>:6443', () => {
    assert.equal(joinEndpointFor('shop-1a2b3c', 'hcp.eu.example.com'), 'shop-1a2b3c.hcp.eu.example.com:6443');
  });

  it('namespaces are DNS labels, unique even for the longest cluster ids', () => {
    const long = 'a'.repeat(40) + '-' + 'b'.repeat(22);
    const other = 'a'.repeat(40) + '-' + 'c'.repeat(22);
    for (const id of [long, other, 'x', 'a'.repeat(59)]) assert.ok(ClusterId.safeParse(namespaceFor(id)).success, namespaceFor(id));
    assert.notEqual(namespaceFor(long), namespaceFor(other));
    assert.equal(namespaceFor(long), namespaceFor(long));
    assert.equal(namespaceFor('a'.repeat(59)), `hcp-${'a'.repeat(59)}`);
  });
});
