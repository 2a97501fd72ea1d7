import { kubeletVersionFor } from '../../src/bootstrap/simulated.bootstrapper.js';
import type { FirstBootKubeadm } from '../../src/infrastructure/simulated/first-boot.js';
import type { Harness } from './harness.js';
import { StandInKubernetes, type KamajiMode } from './kube/api-server.js';
import type { KubeObject } from './kube/store.js';
import { selfSignedServer } from './tls.js';

export const MANAGEMENT_TOKEN = 'management-cluster-service-account-token';
const TENANT_ADMIN_TOKEN = 'tenant-admin-token';

/**
 * A management cluster running (a stand-in of) Kamaji, and the hosted cluster API server its
 * TenantControlPlanes come up as: a Ready control plane reports the tenant's address as its
 * endpoint and writes an admin kubeconfig for it.
 */
export class HostedWorld {
  private constructor(
    readonly management: StandInKubernetes,
    readonly tenant: StandInKubernetes,
    readonly ca: string,
  ) {}

  static async start(mode: KamajiMode, onTenantObject?: (object: KubeObject) => void): Promise<HostedWorld> {
    const tls = selfSignedServer();
    const tenant = new StandInKubernetes({ cert: tls.cert, key: tls.key, tokens: [TENANT_ADMIN_TOKEN], ...(onTenantObject ? { onCreate: onTenantObject } : {}) });
    await tenant.listen();
    const management = new StandInKubernetes({
      cert: tls.cert,
      key: tls.key,
      tokens: [MANAGEMENT_TOKEN],
      kamaji: { mode, endpoint: () => tenant.endpoint, adminKubeconfig: () => adminKubeconfig(tenant.url, tls.cert), deletionMs: 100 },
    });
    await management.listen();
    return new HostedWorld(management, tenant, tls.cert);
  }

  /** POST /api/v1/management-clusters for this management cluster. */
  registration(name: string, capacity = { cpuMillicores: 64_000, memoryBytes: 256 * 2 ** 30, maxControlPlanes: 10 }): Record<string, unknown> {
    return { name, apiEndpoint: this.management.url, ingressDomain: 'hcp.example.com', credentials: { certificateAuthority: this.ca, token: MANAGEMENT_TOKEN }, capacity };
  }

  async close(): Promise<void> {
    await this.management.close();
    await this.tenant.close();
  }
}

/** Kamaji's admin kubeconfig: the tenant's server, its CA, a token. */
function adminKubeconfig(server: string, ca: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'tenant', cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
    users: [{ name: 'admin', user: { token: TENANT_ADMIN_TOKEN } }],
    contexts: [{ name: 'admin@tenant', context: { cluster: 'tenant', user: 'admin' } }],
    'current-context': 'admin@tenant',
  });
}

/**
 * The kubelets of a hosted cluster's simulated machines: once a machine has booted, its
 * first-boot kubeadm join (read from the simulated cloud, as the machine would) is presented to
 * the hosted cluster's API server, which registers the node if the token and endpoint hold.
 */
export class Kubelets {
  readonly refusals = new Map<string, string>();
  /** A kubelet joins once (its TLS bootstrap); a node deleted later is not registered again. */
  private readonly joined = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly h: Harness,
    private readonly tenant: StandInKubernetes,
    private readonly clusterId: string,
  ) {}

  start(): void {
    this.running = true;
    const tick = async () => {
      if (!this.running) return;
      await this.joinBooted().catch(() => undefined);
      if (this.running) this.timer = setTimeout(() => void tick(), 50);
    };
    void tick();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  private async joinBooted(): Promise<void> {
    const rows = await this.h.query<{ name: string; kubeadm: FirstBootKubeadm | null; kubernetes_version: string }>(
      `SELECT s.name, s.kubeadm, m.kubernetes_version FROM sim_machines s JOIN machines m ON m.cluster_id = s.cluster_id AND m.name = s.name
        WHERE s.cluster_id = $1 AND s.ready_at <= clock_timestamp()`,
      [this.clusterId],
    );
    for (const row of rows) {
      if (!row.kubeadm || this.joined.has(row.name)) continue;
      const refused = this.tenant.registerKubelet(row.name, { endpoint: row.kubeadm.endpoint, tokenId: row.kubeadm.tokenId, tokenSha256: row.kubeadm.tokenSha256, kubeletVersion: kubeletVersionFor(row.kubernetes_version) });
      if (refused) this.refusals.set(row.name, refused);
      else this.joined.add(row.name);
    }
  }
}
