import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** The history of a cluster: every event about it, with the trace that carried it. */
@Entity({ name: 'cluster_events' })
@Index(['clusterId', 'time'])
export class ClusterEventEntity {
  @PrimaryColumn('text', { name: 'event_id' })
  eventId!: string;

  @Column('text', { name: 'cluster_id' })
  clusterId!: string;

  @Column('text')
  type!: string;

  @Column('text')
  source!: string;

  @Column('timestamptz')
  time!: Date;

  @Column('text', { name: 'trace_id', nullable: true })
  traceId!: string | null;

  @Column('text')
  summary!: string;

  /** A rejection's data (EventRejected), kept for a cluster that becomes known after it. */
  @Column('jsonb', { nullable: true, select: false })
  detail!: Record<string, unknown> | null;
}
