import { isIP } from 'node:net';
import { type ClusterSpec, parseKubernetesVersion } from '@flotilla/contracts';
import { stringify } from 'yaml';
import { API_SERVER_PORT } from '../../domain/endpoint.js';
import type { MachineRole } from '../../domain/machine-plan.js';
import { BOOTSTRAP_TOKEN_TTL_MS } from '../join-lifetimes.js';
import type { JoinSecrets } from '../join-secrets.js';
import { BootstrapDataError } from './errors.js';

export const KUBEADM_API_VERSION = 'kubeadm.k8s.io/v1beta4';
/** Where both the Ignition/Combustion data and the SSH installer put the configuration. */
export const KUBEADM_CONFIG_PATH = '/etc/kubernetes/kubeadm-config.yaml';
export const CRI_SOCKET = 'unix:///run/containerd/containerd.sock';
export { API_SERVER_PORT };
/**
 * How long the first bootstrap token lasts, as kubeadm writes durations. Nodes that join later
 * (scaling, replacement) get a token made in the running cluster (`JoinSecretsRepository.forJoin`).
 */
export const BOOTSTRAP_TOKEN_TTL = kubeadmDuration(BOOTSTRAP_TOKEN_TTL_MS);

/** A duration as kubeadm prints and reads it (Go's `time.Duration`): `24h0m0s`. */
export function kubeadmDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m${seconds % 60}s`;
}

/** One node, as kubeadm sees it. */
export interface KubeadmNode {
  /** The machine name: Kubernetes node name and hostname. */
  name: string;
  role: MachineRole;
  /** The node pool of a worker; null for control-plane nodes. */
  pool: string | null;
  /** The first control-plane node runs `kubeadm init`; every other node joins. */
  first: boolean;
  /**
   * The address the node advertises (API server, kubelet node-ip). Null when it is not known
   * before the machine exists (a cloud assigns it at creation): kubeadm and the kubelet then
   * take the address of the default route.
   */
  address: string | null;
}

export interface KubeadmConfigInput {
  clusterId: string;
  spec: ClusterSpec;
  node: KubeadmNode;
  /** `host[:port]` every node reaches the API servers at (a load balancer, or the first node). */
  controlPlaneEndpoint: string;
  secrets: JoinSecrets;
}

/** The parts of kubeadm's v1beta4 configuration types this renderer writes. */
export interface NodeRegistration {
  name: string;
  criSocket: string;
  kubeletExtraArgs: { name: string; value: string }[];
  /** Absent: kubeadm's default (the control-plane taint on control-plane nodes). */
  taints?: { key: string; value?: string; effect: string }[];
}

export interface APIEndpoint {
  advertiseAddress: string;
  bindPort: number;
}

export interface InitConfiguration {
  apiVersion: typeof KUBEADM_API_VERSION;
  kind: 'InitConfiguration';
  bootstrapTokens: { token: string; description: string; ttl: string; usages: string[]; groups: string[] }[];
  certificateKey: string;
  localAPIEndpoint?: APIEndpoint;
  nodeRegistration: NodeRegistration;
}

export interface ClusterConfiguration {
  apiVersion: typeof KUBEADM_API_VERSION;
  kind: 'ClusterConfiguration';
  clusterName: string;
  kubernetesVersion: string;
  controlPlaneEndpoint: string;
  /** The endpoint's host among the API server certificate's names, whatever a node's own address. */
  apiServer: { certSANs: string[] };
  networking: { podSubnet: string; serviceSubnet: string; dnsDomain: string };
}

export interface JoinConfiguration {
  apiVersion: typeof KUBEADM_API_VERSION;
  kind: 'JoinConfiguration';
  discovery: { bootstrapToken: { apiServerEndpoint: string; token: string; caCertHashes: string[] } };
  nodeRegistration: NodeRegistration;
  controlPlane?: { localAPIEndpoint?: APIEndpoint; certificateKey: string };
}

export type KubeadmDocument = InitConfiguration | ClusterConfiguration | JoinConfiguration;

/**
 * kubeadm's configuration for one node (multi-document YAML): InitConfiguration and
 * ClusterConfiguration for the first control-plane node, JoinConfiguration for the others
 * (control-plane joins carry the certificate key). The result holds the bootstrap token and, for
 * control-plane nodes, the certificate key: write it 0600.
 */
export function renderKubeadmConfig(input: KubeadmConfigInput): string {
  const legacy = minorOf(kubeadmVersion(input.spec.kubernetesVersion)) < FIRST_V1BETA4_MINOR;
  return kubeadmDocuments(input)
    .map((document) => stringify(legacy ? toV1beta3(document) : document, { lineWidth: 0 }))
    .join('---\n');
}

/** kubeadm reads v1beta4 from 1.31; before, v1beta3 (from 1.22). */
const FIRST_V1BETA4_MINOR = 31;
const FIRST_V1BETA3_MINOR = 22;
export const KUBEADM_V1BETA3 = 'kubeadm.k8s.io/v1beta3';

function minorOf(version: string): number {
  return Number(version.split('.')[1]);
}

/** The same document for kubeadm 1.22-1.30: v1beta3 differs only in taking kubelet flags as a map. */
export function toV1beta3(document: KubeadmDocument): Record<string, unknown> {
  const converted: Record<string, unknown> = { ...document, apiVersion: KUBEADM_V1BETA3 };
  if ('nodeRegistration' in document) {
    const { kubeletExtraArgs, ...rest } = document.nodeRegistration;
    converted['nodeRegistration'] = { ...rest, kubeletExtraArgs: Object.fromEntries(kubeletExtraArgs.map(({ name, value }) => [name, value])) };
  }
  return converted;
}

/** The documents, before they are written as YAML. */
export function kubeadmDocuments(input: KubeadmConfigInput): KubeadmDocument[] {
  const { clusterId, spec, node, secrets } = input;
  if (secrets.clusterId !== clusterId) throw new BootstrapDataError('cluster-id-mismatch', 'secrets.clusterId');
  checkNodeName(node.name, 'node.name');
  if (node.address !== null && isIP(node.address) === 0 && !DNS_NAME.test(node.address)) throw new BootstrapDataError('node-address-invalid', 'node.address', quote(node.address));
  // kubeadm advertises an IP only; for a host known by name it takes the default route's address.
  const localAPIEndpoint = node.address === null || isIP(node.address) === 0 ? {} : { localAPIEndpoint: { advertiseAddress: node.address, bindPort: API_SERVER_PORT } };
  const { endpoint, host: endpointHost } = parseEndpoint(input.controlPlaneEndpoint);
  const kubernetesVersion = kubeadmVersion(spec.kubernetesVersion);
  if (node.first && node.role !== 'control-plane') throw new BootstrapDataError('node-role-invalid', 'node.first');
  const nodeRegistration = registrationFor(spec, node);

  if (node.first) {
    return [
      {
        apiVersion: KUBEADM_API_VERSION,
        kind: 'InitConfiguration',
        bootstrapTokens: [
          {
            token: secrets.bootstrapToken,
            description: `Flotilla join token of cluster ${clusterId}`,
            ttl: BOOTSTRAP_TOKEN_TTL,
            usages: ['signing', 'authentication'],
            groups: ['system:bootstrappers:kubeadm:default-node-token'],
          },
        ],
        certificateKey: secrets.certificateKey,
        ...localAPIEndpoint,
        nodeRegistration,
      },
      {
        apiVersion: KUBEADM_API_VERSION,
        kind: 'ClusterConfiguration',
        clusterName: clusterId,
        kubernetesVersion,
        controlPlaneEndpoint: endpoint,
        apiServer: { certSANs: [endpointHost] },
        networking: { podSubnet: spec.network.podCidr, serviceSubnet: spec.network.serviceCidr, dnsDomain: 'cluster.local' },
      },
    ];
  }
  return [
    {
      apiVersion: KUBEADM_API_VERSION,
      kind: 'JoinConfiguration',
      discovery: {
        bootstrapToken: { apiServerEndpoint: endpoint, token: secrets.bootstrapToken, caCertHashes: [secrets.caCertHash] },
      },
      nodeRegistration,
      ...(node.role === 'control-plane'
        ? { controlPlane: { ...localAPIEndpoint, certificateKey: secrets.certificateKey } }
        : {}),
    },
  ];
}

/**
 * `v<major>.<minor>.<patch>` for ClusterConfiguration (a bare minor means its .0; kubeadm would
 * otherwise resolve a label over the network). Configuration files are read from kubeadm 1.22.
 */
export function kubeadmVersion(requested: string): string {
  const parsed = parseKubernetesVersion(requested);
  if (!parsed.ok) throw new BootstrapDataError('kubernetes-version-unsupported', 'spec.kubernetesVersion', quote(requested));
  const { major, minor, patch } = parsed.version;
  if (major !== 1 || minor < FIRST_V1BETA3_MINOR) throw new BootstrapDataError('kubernetes-version-unsupported', 'spec.kubernetesVersion', quote(requested));
  return `v${major}.${minor}.${patch ?? 0}`;
}

function registrationFor(spec: ClusterSpec, node: KubeadmNode): NodeRegistration {
  const kubeletExtraArgs: { name: string; value: string }[] = node.address === null || isIP(node.address) === 0 ? [] : [{ name: 'node-ip', value: node.address }];
  let taints: NodeRegistration['taints'];
  // A worker host listed without a pool joins with no pool labels and no taints.
  if (node.role === 'worker' && node.pool === null) taints = [];
  else if (node.role === 'worker') {
    const index = spec.nodePools.findIndex((pool) => pool.name === node.pool);
    const pool = spec.nodePools[index];
    if (!pool) throw new BootstrapDataError('node-pool-unknown', 'node.pool', quote(node.pool ?? 'null'));
    const field = `spec.nodePools[${index}]`;
    const labels = Object.entries(pool.labels);
    labels.forEach(([key, value]) => checkLabel(key, value, `${field}.labels[${quote(key)}]`));
    if (labels.length > 0) kubeletExtraArgs.push({ name: 'node-labels', value: labels.map(([key, value]) => `${key}=${value}`).join(',') });
    // An empty list, not an absent one: a worker gets exactly its pool's taints.
    taints = pool.taints.map((taint, taintIndex) => {
      checkTaint(taint.key, taint.value, `${field}.taints[${taintIndex}]`);
      return taint.value === undefined ? { key: taint.key, effect: taint.effect } : { key: taint.key, value: taint.value, effect: taint.effect };
    });
  }
  // Control-plane nodes keep kubeadm's default node-role.kubernetes.io/control-plane:NoSchedule.
  return { name: node.name, criSocket: CRI_SOCKET, kubeletExtraArgs, ...(taints ? { taints } : {}) };
}

/** A DNS host name (RFC 1123): labels of letters, digits and '-', dot-separated. */
const DNS_NAME = /^(?=.{1,253}$)[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
/** Labels in the restricted namespaces the kubelet may still set on itself (NodeRestriction). */
const KUBELET_ALLOWED_LABELS = new Set([
  'kubernetes.io/hostname',
  'kubernetes.io/arch',
  'kubernetes.io/os',
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
]);

export function checkNodeName(name: string, field: string): void {
  if (!DNS_LABEL.test(name)) throw new BootstrapDataError('node-name-invalid', field, quote(name));
}

/** A qualified name as Kubernetes takes it: `[prefix/]name`, prefix a DNS subdomain. */
function isQualifiedName(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return LABEL_NAME.test(key);
  return DNS_SUBDOMAIN.test(key.slice(0, slash)) && LABEL_NAME.test(key.slice(slash + 1));
}

function checkLabel(key: string, value: string, field: string): void {
  if (!isQualifiedName(key) || !LABEL_VALUE.test(value)) throw new BootstrapDataError('label-invalid', field, quote(`${key}=${value}`));
  const prefix = key.includes('/') ? key.slice(0, key.indexOf('/')) : '';
  const restricted = ['kubernetes.io', 'k8s.io'].some((domain) => prefix === domain || prefix.endsWith(`.${domain}`));
  const allowed =
    KUBELET_ALLOWED_LABELS.has(key) ||
    ['kubelet.kubernetes.io', 'node.kubernetes.io'].some((domain) => prefix === domain || prefix.endsWith(`.${domain}`));
  if (restricted && !allowed) throw new BootstrapDataError('label-restricted', field, quote(key));
}

function checkTaint(key: string, value: string | undefined, field: string): void {
  if (!isQualifiedName(key) || (value !== undefined && !LABEL_VALUE.test(value))) {
    throw new BootstrapDataError('taint-invalid', field, quote(value === undefined ? key : `${key}=${value}`));
  }
}

/** `host[:port]` with host a DNS name, an IPv4 address or a bracketed IPv6 address. */
function parseEndpoint(endpoint: string): { endpoint: string; host: string } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(endpoint);
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? undefined : Number(match[3]);
  const hostValid = match?.[1] !== undefined ? isIP(host ?? '') === 6 : host !== undefined && (isIP(host) === 4 || DNS_SUBDOMAIN.test(host));
  if (!hostValid || (port !== undefined && (port < 1 || port > 65_535))) {
    throw new BootstrapDataError('control-plane-endpoint-invalid', 'controlPlaneEndpoint', quote(endpoint));
  }
  return { endpoint, host: host! };
}

/** User values in messages: quoted, bounded, on one line. */
export function quote(value: string): string {
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}..."` : json;
}
