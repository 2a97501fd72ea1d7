import type { ClusterModel } from '@flotilla/contracts';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { FleetNode } from '../domain/fleet-entry.js';

/** One cluster of the planner's fleet view. Written with SQL (write_xid), read through this mapping. */
@Entity({ name: 'fleet_clusters' })
export class FleetClusterEntity {
  @PrimaryColumn('text')
  id!: string;

  @Column('text', { nullable: true })
  model!: ClusterModel | null;

  @Column('text', { nullable: true })
  distribution!: string | null;

  @Column('text', { name: 'control_plane_version', nullable: true })
  controlPlaneVersion!: string | null;

  @Column('timestamptz', { name: 'version_time', nullable: true })
  versionTime!: Date | null;

  @Column('jsonb')
  nodes!: FleetNode[];

  @Column('text', { name: 'upgraded_to', nullable: true })
  upgradedTo!: string | null;

  @Column('timestamptz', { name: 'upgraded_at', nullable: true })
  upgradedAt!: Date | null;

  @Column('timestamptz', { name: 'deleted_at', nullable: true })
  deletedAt!: Date | null;

  @Column('timestamptz', { name: 'last_event_time' })
  lastEventTime!: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}
