import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { ControlPlaneSize } from './control-plane-placement.js';
import { HostedControlPlaneEntity, ManagementClusterEntity } from './entities.js';
import { ManagementClusterAccess } from './management-credentials.js';
import { decideCapacity, type CapacityShortfall, type RegisterManagementClusterBody, type UpdateManagementClusterBody } from './management-cluster.js';
import { free, utilisation, type Capacity, type ManagementClusterLoad, type ManagementClusterState, type Usage, type Utilisation } from './placement.js';
import { savingsReport, type SavingsReport } from './savings.js';
import type { Resources } from './sizing.js';

export interface PlacedControlPlaneView {
  clusterId: string;
  size: ControlPlaneSize;
  replicas: number;
  namespace: string;
  endpoint: string;
  reserved: Resources;
  createdAt: string;
}

export interface ManagementClusterView {
  name: string;
  apiEndpoint: string;
  ingressDomain: string;
  dataStore: string;
  state: ManagementClusterState;
  labels: Record<string, string>;
  capacity: Capacity;
  used: Usage;
  free: Usage;
  utilisation: Utilisation;
  controlPlanes: PlacedControlPlaneView[];
  createdAt: string;
  updatedAt: string;
}

export type RegisterResult = { ok: true; managementCluster: ManagementClusterView } | { ok: false; code: 'already-registered' };

export type UpdateResult =
  | { ok: true; managementCluster: ManagementClusterView }
  | { ok: false; code: 'not-found' }
  | { ok: false; code: 'capacity-below-reserved'; message: string; shortfalls: CapacityShortfall[] };

interface LoadRow {
  name: string;
  state: ManagementClusterState;
  cpu_millicores: string;
  memory_bytes: string;
  max_control_planes: number;
  used_cpu_millicores: string;
  used_memory_bytes: string;
  used_control_planes: number;
}

/**
 * The management clusters hosted control planes run on, and what each has in use. What is in use
 * is always summed from the control planes' rows, never kept as a counter. Every method joins
 * the caller's transaction.
 */
@Injectable()
export class ManagementClusterRegistry {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(ManagementClusterAccess) private readonly access: ManagementClusterAccess,
  ) {}

  async register(body: RegisterManagementClusterBody): Promise<RegisterResult> {
    return this.unitOfWork.run(async () => {
      const inserted = await this.unitOfWork.manager.query<unknown[]>(
        `INSERT INTO management_clusters (name, api_endpoint, ingress_domain, data_store, cpu_millicores, memory_bytes, max_control_planes, labels, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (name) DO NOTHING RETURNING name`,
        [body.name, body.apiEndpoint, body.ingressDomain, body.dataStore, body.capacity.cpuMillicores, body.capacity.memoryBytes, body.capacity.maxControlPlanes, JSON.stringify(body.labels), body.state],
      );
      if (inserted.length === 0) return { ok: false, code: 'already-registered' };
      // Sealed in the same transaction: a management cluster is never registered without them.
      await this.access.store(body.name, body.apiEndpoint, body.credentials);
      return { ok: true, managementCluster: (await this.view(body.name))! };
    });
  }

  /** Capacity and use of every management cluster (or one), in name order. */
  async loads(name?: string): Promise<ManagementClusterLoad[]> {
    const rows = await this.unitOfWork.manager.query<LoadRow[]>(
      `SELECT m.name, m.state, m.cpu_millicores, m.memory_bytes, m.max_control_planes,
              COALESCE(SUM(h.reserved_cpu_millicores), 0)::bigint AS used_cpu_millicores,
              COALESCE(SUM(h.reserved_memory_bytes), 0)::bigint AS used_memory_bytes,
              COUNT(h.cluster_id)::int AS used_control_planes
         FROM management_clusters m LEFT JOIN hosted_control_planes h ON h.management_cluster = m.name
        WHERE $1::text IS NULL OR m.name = $1
        GROUP BY m.name
        ORDER BY m.name`,
      [name ?? null],
    );
    return rows.map((row) => ({
      name: row.name,
      state: row.state,
      capacity: { cpuMillicores: Number(row.cpu_millicores), memoryBytes: Number(row.memory_bytes), maxControlPlanes: row.max_control_planes },
      used: { cpuMillicores: Number(row.used_cpu_millicores), memoryBytes: Number(row.used_memory_bytes), controlPlanes: row.used_control_planes },
    }));
  }

  /**
   * Locks a management cluster's row until the transaction ends. Whoever changes what the
   * cluster holds or offers takes this lock first, so a check made under it stays true.
   */
  async lock(name: string): Promise<ManagementClusterEntity | undefined> {
    const found = await this.unitOfWork.manager.getRepository(ManagementClusterEntity).createQueryBuilder('m').setLock('pessimistic_write').where('m.name = :name', { name }).getOne();
    return found ?? undefined;
  }

  async list(): Promise<ManagementClusterView[]> {
    const manager = this.unitOfWork.manager;
    const [clusters, loads, controlPlanes] = [
      await manager.getRepository(ManagementClusterEntity).find({ order: { name: 'ASC' } }),
      await this.loads(),
      await manager.getRepository(HostedControlPlaneEntity).find({ order: { managementCluster: 'ASC', clusterId: 'ASC' } }),
    ];
    return clusters.map((cluster) => toView(cluster, loads, controlPlanes));
  }

  async view(name: string): Promise<ManagementClusterView | undefined> {
    const manager = this.unitOfWork.manager;
    const cluster = await manager.getRepository(ManagementClusterEntity).findOneBy({ name });
    if (!cluster) return undefined;
    const controlPlanes = await manager.getRepository(HostedControlPlaneEntity).find({ where: { managementCluster: name }, order: { clusterId: 'ASC' } });
    return toView(cluster, await this.loads(name), controlPlanes);
  }

  /** Cordons or uncordons, changes capacity (never below what is reserved) or replaces labels. */
  async update(name: string, body: UpdateManagementClusterBody): Promise<UpdateResult> {
    return this.unitOfWork.run(async () => {
      const cluster = await this.lock(name);
      if (!cluster) return { ok: false, code: 'not-found' };
      const [load] = await this.loads(name);
      const decision = decideCapacity(load!.capacity, body.capacity ?? {}, load!.used);
      if (!decision.ok) return { ok: false, code: 'capacity-below-reserved', message: decision.message, shortfalls: decision.shortfalls };
      await this.unitOfWork.manager.query(
        `UPDATE management_clusters
            SET state = $2, cpu_millicores = $3, memory_bytes = $4, max_control_planes = $5, labels = $6, updated_at = now()
          WHERE name = $1`,
        [name, body.state ?? cluster.state, decision.capacity.cpuMillicores, decision.capacity.memoryBytes, decision.capacity.maxControlPlanes, JSON.stringify(body.labels ?? cluster.labels)],
      );
      if (body.credentials) await this.access.store(name, cluster.apiEndpoint, body.credentials);
      return { ok: true, managementCluster: (await this.view(name))! };
    });
  }

  async savings(): Promise<SavingsReport> {
    const controlPlanes = await this.unitOfWork.manager.getRepository(HostedControlPlaneEntity).find({ order: { clusterId: 'ASC' } });
    return savingsReport(
      await this.loads(),
      controlPlanes.map((row) => ({
        clusterId: row.clusterId,
        managementCluster: row.managementCluster,
        replicas: row.replicas,
        reserved: { cpuMillicores: row.reservedCpuMillicores, memoryBytes: row.reservedMemoryBytes },
      })),
    );
  }
}

function toView(cluster: ManagementClusterEntity, loads: readonly ManagementClusterLoad[], controlPlanes: readonly HostedControlPlaneEntity[]): ManagementClusterView {
  const load = loads.find((candidate) => candidate.name === cluster.name) ?? {
    name: cluster.name,
    state: cluster.state,
    capacity: { cpuMillicores: cluster.cpuMillicores, memoryBytes: cluster.memoryBytes, maxControlPlanes: cluster.maxControlPlanes },
    used: { cpuMillicores: 0, memoryBytes: 0, controlPlanes: 0 },
  };
  return {
    name: cluster.name,
    apiEndpoint: cluster.apiEndpoint,
    ingressDomain: cluster.ingressDomain,
    dataStore: cluster.dataStore,
    state: cluster.state,
    labels: cluster.labels,
    capacity: load.capacity,
    used: load.used,
    free: free(load),
    utilisation: utilisation(load.capacity, load.used),
    controlPlanes: controlPlanes
      .filter((row) => row.managementCluster === cluster.name)
      .map((row) => ({
        clusterId: row.clusterId,
        size: row.size,
        replicas: row.replicas,
        namespace: row.namespace,
        endpoint: row.endpoint,
        reserved: { cpuMillicores: row.reservedCpuMillicores, memoryBytes: row.reservedMemoryBytes },
        createdAt: row.createdAt.toISOString(),
      })),
    createdAt: cluster.createdAt.toISOString(),
    updatedAt: cluster.updatedAt.toISOString(),
  };
}
