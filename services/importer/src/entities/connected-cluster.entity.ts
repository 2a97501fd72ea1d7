import type { Reason } from '@flotilla/contracts';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ConnectedClusterState, Provider } from '../domain/connected-cluster.js';

@Entity({ name: 'connected_clusters' })
export class ConnectedClusterEntity {
  @PrimaryColumn('text')
  id!: string;

  @Column('text')
  name!: string;

  @Column('text')
  provider!: Provider;

  @Column('text', { name: 'api_server', nullable: true })
  apiServer!: string | null;

  @Column('text', { name: 'credential_ref' })
  credentialRef!: string;

  @Column('text')
  state!: ConnectedClusterState;

  @Column('integer')
  attempt!: number;

  @Column('text', { name: 'request_event_id' })
  requestEventId!: string;

  @Column('text', { name: 'kubernetes_version', nullable: true })
  kubernetesVersion!: string | null;

  @Column('text', { nullable: true })
  distribution!: string | null;

  @Column('integer', { name: 'node_count', nullable: true })
  nodeCount!: number | null;

  @Column('jsonb')
  reasons!: Reason[];

  @Column('jsonb')
  warnings!: Reason[];

  @Column('text', { name: 'policy_revision', nullable: true })
  policyRevision!: string | null;

  @Column('timestamptz', { name: 'requested_at' })
  requestedAt!: Date;

  @Column('timestamptz', { name: 'check_started_at', nullable: true })
  checkStartedAt!: Date | null;

  @Column('timestamptz', { name: 'imported_at', nullable: true })
  importedAt!: Date | null;

  @Column('timestamptz', { name: 'deleted_at', nullable: true })
  deletedAt!: Date | null;

  @Column('timestamptz', { name: 'last_event_time' })
  lastEventTime!: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}
