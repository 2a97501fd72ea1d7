import type { ClusterSpec, Reason } from '@flotilla/contracts';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Condition } from '../domain/conditions.js';
import type { ClusterOperation, ClusterPhase } from '../domain/cluster/index.js';

@Entity({ name: 'clusters' })
export class ClusterEntity {
  @PrimaryColumn('text')
  id!: string;

  @Column('text')
  name!: string;

  @Column('text')
  model!: ClusterSpec['model'];

  @Column('text')
  release!: string;

  /** The support-matrix revision the request was judged under. */
  @Column('text', { name: 'policy_revision', nullable: true })
  policyRevision!: string | null;

  @Column('jsonb')
  spec!: ClusterSpec;

  /** The version the cluster is on (the requested one until an upgrade step completes). */
  @Column('text', { name: 'kubernetes_version' })
  kubernetesVersion!: string;

  /** Where the API servers answer (`host:port`): a load balancer, a virtual IP or a hosted endpoint; null until known. */
  @Column('text', { name: 'api_server_endpoint', nullable: true })
  apiServerEndpoint!: string | null;

  @Column('text')
  phase!: ClusterPhase;

  /** Scale, upgrade or delete in progress. */
  @Column('jsonb', { nullable: true })
  operation!: ClusterOperation | null;

  @Column('jsonb')
  conditions!: Condition[];

  @Column('jsonb', { name: 'failure_reasons' })
  failureReasons!: Reason[];

  @Column('timestamptz', { name: 'requested_at' })
  requestedAt!: Date;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}
