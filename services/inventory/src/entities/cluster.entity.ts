import type { ClusterModel, Node, Reason } from '@flotilla/contracts';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { AttentionReason } from '../domain/cluster-attention.js';
import type { ClusterAccess, ClusterProgressView, ClusterStatus, FactTimes, PendingRequest, Refusal } from '../domain/cluster-view.js';

@Entity({ name: 'clusters' })
@Index(['model', 'status'])
@Index(['status'])
export class ClusterEntity {
  @PrimaryColumn('text')
  id!: string;

  @Column('text', { nullable: true })
  name!: string | null;

  @Column('text', { nullable: true })
  model!: ClusterModel | null;

  @Column('jsonb', { default: () => "'{}'::jsonb" })
  labels!: Record<string, string>;

  @Column('text')
  status!: ClusterStatus;

  @Column('text', { name: 'kubernetes_version', nullable: true })
  kubernetesVersion!: string | null;

  @Column('text', { nullable: true })
  distribution!: string | null;

  @Column('jsonb')
  nodes!: Node[];

  @Column('integer', { name: 'node_count' })
  nodeCount!: number;

  @Column('jsonb')
  reasons!: Reason[];

  @Column('jsonb')
  warnings!: Reason[];

  @Column('boolean', { nullable: true })
  reachable!: boolean | null;

  @Column('text', { nullable: true })
  tunnel!: 'connected' | 'disconnected' | null;

  @Column('text', { nullable: true })
  access!: ClusterAccess | null;

  @Column('text', { nullable: true })
  provider!: string | null;

  @Column('text', { nullable: true })
  region!: string | null;

  /** Written with the view: readyNodes and attentionOf of src/domain/cluster-attention.ts. */
  @Column('integer', { name: 'nodes_ready', default: 0 })
  nodesReady!: number;

  @Column('text', { array: true, default: () => "'{}'" })
  attention!: AttentionReason[];

  @Column('timestamptz', { name: 'last_event_time' })
  lastEventTime!: Date;

  @Column('jsonb', { name: 'pending_requests', default: () => "'[]'::jsonb" })
  pendingRequests!: PendingRequest[];

  @Column('jsonb', { name: 'last_refusal', nullable: true })
  lastRefusal!: Refusal | null;

  @Column('jsonb', { nullable: true })
  progress!: ClusterProgressView | null;

  @Column('jsonb', { name: 'fact_times', default: () => "'{}'::jsonb" })
  factTimes!: FactTimes;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}
