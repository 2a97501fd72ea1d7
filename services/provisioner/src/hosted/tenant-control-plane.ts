import { createHash } from 'node:crypto';
import { parseKubernetesVersion, type ClusterSpec } from '@flotilla/contracts';
import { cpuQuantity, memoryQuantity, type ControlPlaneSizing, type Resources } from './sizing.js';
import { API_SERVER_PORT } from '../bootstrap/render/kubeadm.js';

/** The konnectivity server's port (Kamaji's default): workers' agents dial out to it. */
export const KONNECTIVITY_PORT = 8132;

const MAX_NAME = 63;

/**
 * The management cluster's namespace for a control plane: `hcp-<cluster id>`, or, when that is
 * longer than a DNS label allows, a shortened id plus a hash of the whole one (still unique).
 */
export function namespaceFor(clusterId: string): string {
  const name = `hcp-${clusterId}`;
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(clusterId).digest('hex').slice(0, 8);
  return `hcp-${clusterId.slice(0, MAX_NAME - 4 - 9).replace(/-+$/, '')}-${hash}`;
}

/** Where the cluster's workers join: `<cluster id>.<management cluster ingress domain>:6443`. */
export function joinEndpointFor(clusterId: string, ingressDomain: string): string {
  return `${apiServerHost(clusterId, ingressDomain)}:${API_SERVER_PORT}`;
}

export function apiServerHost(clusterId: string, ingressDomain: string): string {
  return `${clusterId}.${ingressDomain}`;
}

/** `1.34` → `v1.34.0`, `1.33.4` → `v1.33.4`: Kamaji wants a full, v-prefixed version. */
export function fullKubernetesVersion(requested: string): string {
  const parsed = parseKubernetesVersion(requested);
  if (!parsed.ok) return requested.startsWith('v') ? requested : `v${requested}`;
  const { major, minor, patch } = parsed.version;
  return `v${major}.${minor}.${patch ?? 0}`;
}

export interface TenantControlPlaneInput {
  clusterId: string;
  spec: ClusterSpec;
  sizing: ControlPlaneSizing;
  managementCluster: { name: string; ingressDomain: string; dataStore: string };
}

/**
 * The object to apply on the management cluster: Kamaji's TenantControlPlane
 * (kamaji.clastix.io/v1alpha1). Requests only, no limits: the management cluster's scheduler
 * packs by requests, which is what the placement reserved; limits would throttle an API server
 * under a burst of watches.
 */
export function tenantControlPlane(input: TenantControlPlaneInput): Record<string, unknown> {
  const { clusterId, spec, sizing, managementCluster } = input;
  const labels = {
    'app.kubernetes.io/managed-by': 'flotilla',
    'flotilla.io/cluster-id': clusterId,
    'flotilla.io/control-plane-size': sizing.size,
    'tenant.clastix.io': clusterId,
  };
  return {
    apiVersion: 'kamaji.clastix.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name: clusterId, namespace: namespaceFor(clusterId), labels },
    spec: {
      dataStore: managementCluster.dataStore,
      controlPlane: {
        deployment: {
          replicas: sizing.replicas,
          additionalMetadata: { labels },
          resources: {
            apiServer: requests(sizing.perReplica.apiServer),
            controllerManager: requests(sizing.perReplica.controllerManager),
            scheduler: requests(sizing.perReplica.scheduler),
          },
        },
        service: { serviceType: 'LoadBalancer', additionalMetadata: { labels } },
      },
      kubernetes: {
        version: fullKubernetesVersion(spec.kubernetesVersion),
        kubelet: { cgroupfs: 'systemd', preferredAddressTypes: ['InternalIP', 'ExternalIP', 'Hostname'] },
      },
      networkProfile: {
        port: API_SERVER_PORT,
        certSANs: [apiServerHost(clusterId, managementCluster.ingressDomain)],
        podCidr: spec.network.podCidr,
        serviceCidr: spec.network.serviceCidr,
      },
      addons: {
        coreDNS: {},
        kubeProxy: {},
        konnectivity: { server: { port: KONNECTIVITY_PORT, resources: requests(sizing.perReplica.konnectivityServer) } },
      },
    },
  };
}

function requests(resources: Resources): { requests: { cpu: string; memory: string } } {
  return { requests: { cpu: cpuQuantity(resources.cpuMillicores), memory: memoryQuantity(resources.memoryBytes) } };
}
