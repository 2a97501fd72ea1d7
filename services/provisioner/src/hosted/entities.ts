import { Column, Entity, PrimaryColumn, type ValueTransformer } from 'typeorm';
import type { ControlPlaneSize } from './control-plane-placement.js';
import type { ManagementClusterState } from './placement.js';

/** PostgreSQL bigint arrives as a string; memory in bytes stays exact as a number up to 8 PiB. */
const bigintAsNumber: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

/** A cluster that runs hosted control planes (Kamaji), and how much of it they may take. */
@Entity({ name: 'management_clusters' })
export class ManagementClusterEntity {
  @PrimaryColumn('text')
  name!: string;

  @Column('text', { name: 'api_endpoint' })
  apiEndpoint!: string;

  @Column('text', { name: 'ingress_domain' })
  ingressDomain!: string;

  @Column('text', { name: 'data_store' })
  dataStore!: string;

  @Column('bigint', { name: 'cpu_millicores', transformer: bigintAsNumber })
  cpuMillicores!: number;

  @Column('bigint', { name: 'memory_bytes', transformer: bigintAsNumber })
  memoryBytes!: number;

  @Column('integer', { name: 'max_control_planes' })
  maxControlPlanes!: number;

  @Column('jsonb')
  labels!: Record<string, string>;

  @Column('text')
  state!: ManagementClusterState;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}

/** A hosted cluster's control plane: where it runs, what it holds there, and what to apply. */
@Entity({ name: 'hosted_control_planes' })
export class HostedControlPlaneEntity {
  @PrimaryColumn('text', { name: 'cluster_id' })
  clusterId!: string;

  @Column('text', { name: 'management_cluster' })
  managementCluster!: string;

  @Column('text')
  size!: ControlPlaneSize;

  @Column('integer')
  replicas!: number;

  @Column('bigint', { name: 'reserved_cpu_millicores', transformer: bigintAsNumber })
  reservedCpuMillicores!: number;

  @Column('bigint', { name: 'reserved_memory_bytes', transformer: bigintAsNumber })
  reservedMemoryBytes!: number;

  @Column('text')
  namespace!: string;

  @Column('text')
  endpoint!: string;

  @Column('jsonb')
  manifest!: Record<string, unknown>;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  /** applying (until its TenantControlPlane is Ready), ready, failed, deleting (until it is gone there). */
  @Column('text', { default: 'applying' })
  phase!: HostedControlPlanePhase;

  /** `host:port` the TenantControlPlane reported Ready at (status.controlPlaneEndpoint). */
  @Column('text', { name: 'control_plane_endpoint', nullable: true })
  controlPlaneEndpoint!: string | null;

  /** What the TenantControlPlane last said of itself (status.kubernetesResources.version.status). */
  @Column('text', { name: 'observed_status', nullable: true })
  observedStatus!: string | null;

  @Column('timestamptz', { name: 'ready_at', nullable: true })
  readyAt!: Date | null;

  @Column('text', { name: 'failure_code', nullable: true })
  failureCode!: string | null;

  @Column('text', { name: 'failure_message', nullable: true })
  failureMessage!: string | null;

  @Column('text', { name: 'last_error', nullable: true })
  lastError!: string | null;
}

export type HostedControlPlanePhase = 'applying' | 'ready' | 'failed' | 'deleting';
