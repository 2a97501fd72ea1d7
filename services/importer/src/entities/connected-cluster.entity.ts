import type { Reason } from '@flotilla/contracts';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { CloudLocation } from '../connectivity/cluster-probe.js';
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

  @Column('jsonb', { nullable: true })
  cloud!: CloudLocation | null;

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

  // The import worker's schedule: a check through a tunnel that did not carry it waits until then.
  @Column('timestamptz', { name: 'check_not_before', nullable: true })
  checkNotBefore!: Date | null;

  // The sync worker's schedule (not part of the domain view; see ConnectedClusterRepository).
  @Column('timestamptz', { name: 'next_sync_at', nullable: true })
  nextSyncAt!: Date | null;

  @Column('timestamptz', { name: 'sync_claimed_at', nullable: true })
  syncClaimedAt!: Date | null;

  @Column('integer', { name: 'sync_failures', default: 0 })
  syncFailures!: number;

  @Column('timestamptz', { name: 'unreachable_since', nullable: true })
  unreachableSince!: Date | null;

  @Column('timestamptz', { name: 'last_synced_at', nullable: true })
  lastSyncedAt!: Date | null;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}
