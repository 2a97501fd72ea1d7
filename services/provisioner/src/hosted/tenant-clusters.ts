import { Inject, Injectable } from '@nestjs/common';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { UnitOfWork } from '@flotilla/messaging';
import { Secret } from '@flotilla/secrets';
import { Clock } from '@flotilla/service-kit';
import { bootstrapTokenId, caCertHashOf, generateBootstrapToken, type JoinSecrets } from '../bootstrap/join-secrets.js';
import { kubeadmDuration } from '../bootstrap/render/kubeadm.js';
import { KubernetesClient, ServerBindingError, type KubernetesTarget } from './kubernetes-client.js';
import { ManagementClusterAccess } from './management-credentials.js';
import { ADMIN_KUBECONFIG_KEY, adminKubeconfigSecretName, tenantControlPlaneHeader, type TenantControlPlaneObject } from './tenant-control-plane-status.js';

/** A hosted cluster whose control plane is Ready, and where it is. */
interface ReadyControlPlane {
  clusterId: string;
  managementCluster: string;
  apiEndpoint: string;
  namespace: string;
  /** `host:port` of its API server (the TenantControlPlane's status.controlPlaneEndpoint). */
  endpoint: string;
}

/** What a worker needs to join a hosted cluster: where, a token minted there, and the pin of its CA. */
export interface TenantJoin {
  endpoint: string;
  secrets: JoinSecrets;
}

/** A node of a hosted cluster as its API server shows it. */
export interface TenantNode {
  kubeletVersion: string | null;
  ready: boolean;
}

interface RecordRow {
  management_cluster: string;
  api_endpoint: string;
  namespace: string;
  phase: string;
  control_plane_endpoint: string | null;
}

/** The group kubeadm's join tokens put a node in (its RBAC is made when the control plane is set up). */
const NODE_BOOTSTRAPPERS = 'system:bootstrappers:kubeadm:default-node-token';

/**
 * Hosted clusters' own API servers, reached with the admin kubeconfig Kamaji keeps in the
 * control plane's namespace of the management cluster (`<name>-admin-kubeconfig`, key
 * `admin.conf`). It is read through the management cluster's client each time it is needed and
 * never stored by Flotilla; the client built from it connects to the TenantControlPlane's
 * endpoint only (a kubeconfig naming another server is refused).
 */
@Injectable()
export class TenantClusters {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(ManagementClusterAccess) private readonly access: ManagementClusterAccess,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** Where the hosted cluster's API server answers (`host:port`) once its control plane is Ready; undefined before. */
  async readyEndpoint(clusterId: string): Promise<string | undefined> {
    return (await this.readyControlPlane(clusterId))?.endpoint;
  }

  /** The admin kubeconfig of a hosted cluster whose control plane is Ready; undefined before. */
  async adminKubeconfig(clusterId: string, purpose: string): Promise<Secret | undefined> {
    const ready = await this.readyControlPlane(clusterId);
    if (!ready) return undefined;
    const kubeconfig = await this.readAdminKubeconfig(ready, purpose);
    // Only one that names the control plane's own endpoint is ever used or handed out.
    adminTarget(ready, kubeconfig);
    return kubeconfig;
  }

  /**
   * A bootstrap token minted in the hosted cluster (the Secret `kube-system/bootstrap-token-<id>`,
   * as `kubeadm token create` makes it) lasting `ttlMs`, with the endpoint and the pin of the
   * cluster's CA: all a worker's `kubeadm join` needs. Undefined while the control plane is not Ready.
   */
  async joinMaterial(clusterId: string, ttlMs: number): Promise<TenantJoin | undefined> {
    const ready = await this.readyControlPlane(clusterId);
    if (!ready) return undefined;
    const kubeconfig = await this.readAdminKubeconfig(ready, 'a worker join token');
    const { client, caCertificatePem } = await openTenant(ready, kubeconfig);
    try {
      const now = this.clock.now();
      const token = generateBootstrapToken();
      const [id, secret] = [bootstrapTokenId(token), token.slice(token.indexOf('.') + 1)];
      const created = await client.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
        type: 'bootstrap.kubernetes.io/token',
        stringData: {
          description: `Flotilla join token of cluster ${clusterId} (${kubeadmDuration(ttlMs)})`,
          'token-id': id,
          'token-secret': secret,
          expiration: new Date(now.getTime() + ttlMs).toISOString().replace(/\.\d+Z$/, 'Z'),
          'usage-bootstrap-authentication': 'true',
          'usage-bootstrap-signing': 'true',
          'auth-extra-groups': NODE_BOOTSTRAPPERS,
        },
      } as KubernetesObject);
      // Another token of that id exists (a one in 36^6 draw): this one is not known there, so it is not handed out.
      if (!created) throw new TenantAccessError(`bootstrap token ${id} already exists in hosted cluster ${clusterId}; a new one is minted on the next try`);
      // A worker's JoinConfiguration reads only the token and the CA pin: the control plane's
      // certificates and CA key are Kamaji's and never leave the management cluster.
      const secrets: JoinSecrets = {
        clusterId,
        bootstrapToken: token,
        certificateKey: '',
        ca: { certificatePem: caCertificatePem, privateKeyPem: '' },
        caCertHash: caCertHashOf(caCertificatePem),
        bootstrapTokenMintedAt: now.toISOString(),
        certificatesUploadedAt: now.toISOString(),
      };
      return { endpoint: ready.endpoint, secrets };
    } finally {
      client.close();
    }
  }

  /** The node `name` of the hosted cluster; undefined while it has not registered (or the control plane is not Ready). */
  async node(clusterId: string, name: string): Promise<TenantNode | undefined> {
    return this.withTenant(clusterId, `node ${name}`, 'failures', async (client) => {
      const node = await client.read<KubernetesObject & { status?: { nodeInfo?: { kubeletVersion?: string }; conditions?: { type?: string; status?: string }[] } }>({ apiVersion: 'v1', kind: 'Node', metadata: { name } });
      if (!node) return undefined;
      return {
        kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? null,
        ready: node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false,
      };
    });
  }

  /** Deletes the node `name` from the hosted cluster; nothing to do once its control plane is gone. */
  async deleteNode(clusterId: string, name: string): Promise<void> {
    await this.withTenant(clusterId, `removing node ${name}`, 'every-use', (client) => client.delete({ apiVersion: 'v1', kind: 'Node', metadata: { name } }));
  }

  private async withTenant<T>(clusterId: string, purpose: string, audit: 'every-use' | 'failures', work: (client: KubernetesClient) => Promise<T>): Promise<T | undefined> {
    const ready = await this.readyControlPlane(clusterId);
    if (!ready) return undefined;
    const { client } = await openTenant(ready, await this.readAdminKubeconfig(ready, purpose, audit));
    try {
      return await work(client);
    } finally {
      client.close();
    }
  }

  private async readyControlPlane(clusterId: string): Promise<ReadyControlPlane | undefined> {
    const [row] = await this.unitOfWork.manager.query<RecordRow[]>(
      `SELECT h.management_cluster, m.api_endpoint, h.namespace, h.phase, h.control_plane_endpoint
         FROM hosted_control_planes h JOIN management_clusters m ON m.name = h.management_cluster
        WHERE h.cluster_id = $1`,
      [clusterId],
    );
    if (!row || row.phase !== 'ready' || row.control_plane_endpoint === null) return undefined;
    return { clusterId, managementCluster: row.management_cluster, apiEndpoint: row.api_endpoint, namespace: row.namespace, endpoint: row.control_plane_endpoint };
  }

  /** Read through the management cluster's client, each time: Kamaji rotates it, and Flotilla keeps no copy. */
  private async readAdminKubeconfig(ready: ReadyControlPlane, purpose: string, audit: 'every-use' | 'failures' = 'every-use'): Promise<Secret> {
    const management = await this.access.open(ready.managementCluster, ready.apiEndpoint, ready.clusterId, `the admin kubeconfig of ${ready.clusterId} (${purpose})`, audit);
    try {
      const tcp = (await management.read<TenantControlPlaneObject>(tenantControlPlaneHeader(ready.namespace, ready.clusterId))) ?? { apiVersion: '', kind: '' };
      const name = adminKubeconfigSecretName(tcp, ready.clusterId);
      const secret = await management.read<KubernetesObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ready.namespace } });
      const encoded = secret?.data?.[ADMIN_KUBECONFIG_KEY];
      if (encoded === undefined) throw new TenantAccessError(`management cluster "${ready.managementCluster}" has no ${ADMIN_KUBECONFIG_KEY} in secret ${ready.namespace}/${name} for hosted cluster ${ready.clusterId}`);
      return new Secret(Buffer.from(encoded, 'base64'));
    } finally {
      management.close();
    }
  }
}

/** The hosted cluster's admin kubeconfig cannot be used (absent, unreadable, or naming another server). */
export class TenantAccessError extends Error {
  override readonly name = 'TenantAccessError';
}

/** A client from the admin kubeconfig, bound to the TenantControlPlane's endpoint. */
async function openTenant(ready: ReadyControlPlane, kubeconfig: Secret): Promise<{ client: KubernetesClient; caCertificatePem: string }> {
  const target = adminTarget(ready, kubeconfig);
  return { client: await KubernetesClient.open(target), caCertificatePem: target.caCertificatePem };
}

/** What the admin kubeconfig says, refused unless it names the TenantControlPlane's endpoint. */
function adminTarget(ready: ReadyControlPlane, kubeconfig: Secret): KubernetesTarget {
  const config = new KubeConfig();
  try {
    config.loadFromString(kubeconfig.revealString());
  } catch {
    throw new TenantAccessError(`the admin kubeconfig of hosted cluster ${ready.clusterId} is not a kubeconfig`);
  }
  const cluster = config.getCurrentCluster();
  const user = config.getCurrentUser();
  if (!cluster || !user || !cluster.caData) throw new TenantAccessError(`the admin kubeconfig of hosted cluster ${ready.clusterId} names no cluster, user or CA`);
  let host: string;
  try {
    host = new URL(cluster.server).host;
  } catch {
    throw new TenantAccessError(`the admin kubeconfig of hosted cluster ${ready.clusterId} names no server URL`);
  }
  if (host !== ready.endpoint) throw new ServerBindingError(`the admin kubeconfig of hosted cluster ${ready.clusterId} names ${cluster.server}; it is only used at its control plane's endpoint ${ready.endpoint}`);
  const caCertificatePem = Buffer.from(cluster.caData, 'base64').toString('utf8');
  const describe = `the admin kubeconfig of hosted cluster ${ready.clusterId}`;
  const auth =
    user.token !== undefined
      ? { kind: 'token' as const, token: new Secret(user.token) }
      : user.certData !== undefined && user.keyData !== undefined
        ? { kind: 'client-certificate' as const, certificatePem: Buffer.from(user.certData, 'base64').toString('utf8'), privateKey: new Secret(Buffer.from(user.keyData, 'base64')) }
        : undefined;
  if (!auth) throw new TenantAccessError(`${describe} has neither a token nor a client certificate`);
  return { server: `https://${ready.endpoint}`, caCertificatePem, auth, describe };
}
