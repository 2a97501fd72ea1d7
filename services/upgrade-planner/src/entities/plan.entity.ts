import { Column, Entity, PrimaryColumn } from 'typeorm';

export type PlanStatus = 'open' | 'closed';
export type RequestedVia = 'event' | 'http';

/** A global-upgrade plan: what was asked for, and which revision is current. Open plans follow the fleet and the matrix. */
@Entity({ name: 'plans' })
export class PlanEntity {
  @PrimaryColumn('text')
  id!: string;

  @Column('text', { name: 'from_release' })
  fromRelease!: string;

  @Column('text', { name: 'to_release' })
  toRelease!: string;

  /** The Kubernetes minor the plan takes clusters to; null: the target release's newest for new clusters. */
  @Column('text', { name: 'to_version', nullable: true })
  toVersion!: string | null;

  @Column('integer', { name: 'max_concurrency' })
  maxConcurrency!: number;

  @Column('text')
  status!: PlanStatus;

  @Column('integer', { name: 'current_revision' })
  currentRevision!: number;

  @Column('text', { name: 'requested_via' })
  requestedVia!: RequestedVia;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}
