import type { Clock } from '@flotilla/service-kit';
import type { DataSource, EntityManager } from 'typeorm';
import type { JoinMaterialIssuer } from '../../bootstrap/join-material-issuer.js';
import { UPLOADED_CERTIFICATES_TTL_MS } from '../../bootstrap/join-lifetimes.js';
import { sha256, type FirstBootKubeadm } from './first-boot.js';
import { Coalescer } from '../../repositories/coalescer.js';
import { LIVE_CONTROL_PLANE } from './simulated.provider.js';

/** What became of a machine's kubeadm; undefined when its first-boot data runs none. */
export type SimulatedJoin = { state: 'joined' } | { state: 'joining' } | { state: 'failed'; message: string } | undefined;

/** Refused by a simulated cluster's API, like a real API server would (the caller retries). */
export class SimulatedClusterError extends Error {
  override readonly name = 'SimulatedClusterError';
}

interface MachineKey {
  clusterId: string;
  name: string;
}

const machineKey = (key: MachineKey) => `${key.clusterId}\0${key.name}`;

interface JoinRow {
  kubeadm: FirstBootKubeadm | null;
  joined: boolean;
  initialised: boolean;
  certificate_key_sha256: string | null;
  certificates_expire_at: Date | null;
  token_sha256: string | null;
  token_expires_at: Date | null;
  cluster_endpoint: string | null;
  routes_to: string | null;
}

/**
 * The join state of machines ($1 cluster ids, $2 names, pairwise): what each one's kubeadm
 * presents, whether it joined, and its cluster's as far as joining goes (initialised, uploaded
 * certificates, the token it names, its load balancer and where that routes).
 */
export const JOIN_STATES_SQL = `SELECT m.cluster_id AS "clusterId", m.name, m.kubeadm, m.joined_at IS NOT NULL AS joined, c.cluster_id IS NOT NULL AS initialised,
          c.certificate_key_sha256, c.certificates_expire_at, t.secret_sha256 AS token_sha256, t.expires_at AS token_expires_at,
          e.address || ':' || e.port AS cluster_endpoint, ${LIVE_CONTROL_PLANE} AS routes_to
     FROM unnest($1::text[], $2::text[]) AS k(cluster_id, name)
     JOIN sim_machines m ON m.cluster_id = k.cluster_id AND m.name = k.name
     LEFT JOIN sim_clusters c ON c.cluster_id = m.cluster_id
     LEFT JOIN sim_bootstrap_tokens t ON t.cluster_id = m.cluster_id AND t.token_id = m.kubeadm->>'tokenId'
     LEFT JOIN sim_endpoints e ON e.cluster_id = m.cluster_id`;

/**
 * The running clusters of the simulated cloud, for what joining them takes, on the provisioner's
 * clock: a machine's first boot runs `kubeadm init` (the cluster comes to exist with the token
 * of the machine's configuration, and the certificates uploaded for two hours) or `kubeadm join`,
 * which the cluster refuses, as kubeadm does, with a token it does not know or that expired, and
 * for a control-plane node without certificates uploaded under its key in the last two hours.
 * New tokens and uploads come through the cluster's API (`JoinMaterialIssuer`). Kept in
 * `sim_clusters` and `sim_bootstrap_tokens`, outside the provisioner's transactions, like the
 * machines; a cluster goes with its last machine.
 */
export class SimulatedClusters implements JoinMaterialIssuer {
  /** The join state of the machines asked about in one turn, in one statement. */
  private readonly joinStates = new Coalescer<MachineKey, JoinRow | undefined>((keys) => this.readJoinStates(keys));
  /** The joins of one turn recorded in one statement. */
  private readonly joins = new Coalescer<MachineKey & { at: Date }, void>((keys) => this.recordJoins(keys));
  /** The first control planes' `kubeadm init` of one turn, in one transaction. */
  private readonly inits = new Coalescer<MachineKey & { kubeadm: FirstBootKubeadm; at: Date }, void>((keys) => this.initialise(keys));

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async createBootstrapToken(clusterId: string, token: string, ttlMs: number): Promise<void> {
    const now = this.clock.now();
    const rows = await this.dataSource.query<{ token_id: string }[]>(
      `INSERT INTO sim_bootstrap_tokens (cluster_id, token_id, secret_sha256, expires_at)
       SELECT cluster_id, $2, $3, $4 FROM sim_clusters WHERE cluster_id = $1
       ON CONFLICT (cluster_id, token_id) DO NOTHING
       RETURNING token_id`,
      [clusterId, token.slice(0, token.indexOf('.')), sha256(token), new Date(now.getTime() + ttlMs)],
    );
    if (rows.length === 0) throw await this.refusal(clusterId, `bootstrap token "${token.slice(0, token.indexOf('.'))}" already exists`);
  }

  async uploadCertificates(clusterId: string, certificateKey: string): Promise<void> {
    const rows = await this.dataSource.query<{ cluster_id: string }[]>(
      // As a CTE: TypeORM hands back UPDATE ... RETURNING as [rows, count], a SELECT as rows.
      `WITH uploaded AS (UPDATE sim_clusters SET certificate_key_sha256 = $2, certificates_expire_at = $3 WHERE cluster_id = $1 RETURNING cluster_id)
       SELECT cluster_id FROM uploaded`,
      [clusterId, sha256(certificateKey), new Date(this.clock.now().getTime() + UPLOADED_CERTIFICATES_TTL_MS)],
    );
    if (rows.length === 0) throw await this.refusal(clusterId, 'the upload was refused');
  }

  /** The machine's first-boot kubeadm, once it is up. A node that joined stays joined (its token is no longer needed). */
  async join(clusterId: string, name: string): Promise<SimulatedJoin> {
    const row = await this.joinStates.load({ clusterId, name });
    if (!row?.kubeadm) return undefined;
    if (row.joined) return { state: 'joined' };
    const kubeadm = row.kubeadm;
    const now = this.clock.now();
    if (kubeadm.action === 'init') {
      await this.inits.load({ clusterId, name, kubeadm, at: now });
      return { state: 'joined' };
    }
    // No API server yet: kubeadm join keeps trying until the first control plane is up.
    if (!row.initialised) return { state: 'joining' };
    // A cluster behind the cloud's load balancer answers there only, and only while a control
    // plane that joined is still behind it; an address of its own is no way in.
    if (row.cluster_endpoint !== null) {
      if (kubeadm.endpoint !== row.cluster_endpoint) {
        return { state: 'failed', message: `kubeadm join: couldn't validate the identity of the API Server: Get "https://${kubeadm.endpoint ?? '(none)'}/api/v1/namespaces/kube-public/configmaps/cluster-info": dial tcp: connect: no route to host` };
      }
      if (row.routes_to === null) return { state: 'joining' };
    }
    const tokenValid = row.token_sha256 === kubeadm.tokenSha256 && row.token_expires_at !== null && row.token_expires_at.getTime() > now.getTime();
    // kubeadm's words: an expired token is deleted, so it is as unknown as a wrong one.
    if (!tokenValid) return { state: 'failed', message: `kubeadm join: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "${kubeadm.tokenId}"` };
    if (kubeadm.controlPlane) {
      if (row.certificate_key_sha256 === null || row.certificates_expire_at === null || row.certificates_expire_at.getTime() <= now.getTime()) {
        return { state: 'failed', message: 'kubeadm join: error downloading certs: error downloading the secret: secrets "kubeadm-certs" not found' };
      }
      if (row.certificate_key_sha256 !== kubeadm.certificateKeySha256) return { state: 'failed', message: 'kubeadm join: error downloading certs: error decoding certificate key: cipher: message authentication failed' };
    }
    await this.joins.load({ clusterId, name, at: now });
    return { state: 'joined' };
  }

  private async readJoinStates(keys: readonly MachineKey[]): Promise<(JoinRow | undefined)[]> {
    const rows = await this.dataSource.query<(JoinRow & MachineKey)[]>(JOIN_STATES_SQL, [keys.map((key) => key.clusterId), keys.map((key) => key.name)]);
    const byKey = new Map(rows.map((row) => [machineKey(row), row]));
    return keys.map((key) => byKey.get(machineKey(key)));
  }

  private async recordJoins(joins: readonly (MachineKey & { at: Date })[]): Promise<void[]> {
    await this.markJoined(this.dataSource.manager, joins);
    return joins.map(() => undefined);
  }

  private async markJoined(manager: EntityManager, joins: readonly (MachineKey & { at: Date })[]): Promise<void> {
    await manager.query(
      `UPDATE sim_machines m SET joined_at = j.at
         FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS j(cluster_id, name, at)
        WHERE m.cluster_id = j.cluster_id AND m.name = j.name`,
      [joins.map((join) => join.clusterId), joins.map((join) => join.name), joins.map((join) => join.at.toISOString())],
    );
  }

  /**
   * `kubeadm init --upload-certs`: the cluster, its first token and the certificates, in one
   * transaction (with the other inits of the turn: three statements for all of them).
   */
  private async initialise(inits: readonly (MachineKey & { kubeadm: FirstBootKubeadm; at: Date })[]): Promise<void[]> {
    const column = <T>(pick: (init: (typeof inits)[number]) => T): T[] => inits.map(pick);
    const certificatesExpireAt = (init: (typeof inits)[number]) =>
      init.kubeadm.certificateKeySha256 === null ? null : new Date(init.at.getTime() + UPLOADED_CERTIFICATES_TTL_MS).toISOString();
    await this.dataSource.transaction(async (manager) => {
      await manager.query(
        `INSERT INTO sim_clusters (cluster_id, initialised_at, certificate_key_sha256, certificates_expire_at)
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::timestamptz[])
         ON CONFLICT (cluster_id) DO NOTHING`,
        [column((init) => init.clusterId), column((init) => init.at.toISOString()), column((init) => init.kubeadm.certificateKeySha256), column(certificatesExpireAt)],
      );
      await manager.query(
        `INSERT INTO sim_bootstrap_tokens (cluster_id, token_id, secret_sha256, expires_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
         ON CONFLICT (cluster_id, token_id) DO NOTHING`,
        [
          column((init) => init.clusterId),
          column((init) => init.kubeadm.tokenId),
          column((init) => init.kubeadm.tokenSha256),
          column((init) => new Date(init.at.getTime() + (init.kubeadm.tokenTtlMs ?? 0)).toISOString()),
        ],
      );
      await this.markJoined(manager, inits);
    });
    return inits.map(() => undefined);
  }

  private async refusal(clusterId: string, conflict: string): Promise<SimulatedClusterError> {
    const exists = await this.dataSource.query<unknown[]>(`SELECT 1 FROM sim_clusters WHERE cluster_id = $1`, [clusterId]);
    return new SimulatedClusterError(
      exists.length === 0 ? `simulated cluster ${clusterId} has no API server yet (no control plane ran kubeadm init)` : `simulated cluster ${clusterId}: ${conflict}`,
    );
  }
}
