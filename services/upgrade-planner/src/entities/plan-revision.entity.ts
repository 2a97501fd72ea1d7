import type { ClusterUpgradeAction } from '@flotilla/contracts';
import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Why a revision was made. */
export type RevisionTrigger = 'requested' | 're-requested' | 'fleet-changed' | 'matrix-changed';

/** One computed plan, kept whole: what was decided, under which support-matrix revision, and what changed. */
@Entity({ name: 'plan_revisions' })
export class PlanRevisionEntity {
  @PrimaryColumn('text', { name: 'plan_id' })
  planId!: string;

  @PrimaryColumn('integer')
  revision!: number;

  @Column('text')
  trigger!: RevisionTrigger;

  @Column('text', { name: 'policy_revision' })
  policyRevision!: string;

  /** Bucket sequence of the matrix used (0: the shipped document). */
  @Column('bigint', { name: 'matrix_sequence' })
  matrixSequence!: string;

  @Column('timestamptz', { name: 'matrix_published_at', nullable: true })
  matrixPublishedAt!: Date | null;

  @Column('boolean')
  satisfiable!: boolean;

  @Column('jsonb')
  summary!: Record<ClusterUpgradeAction, number>;

  @Column('jsonb')
  changes!: string[];

  /** gzip'd JSON of the UpgradePlan; null once pruned. */
  @Column('bytea', { name: 'plan_gz', nullable: true })
  planGz!: Buffer | null;

  /** The UpgradePlanned event that announced it. */
  @Column('text', { name: 'event_id' })
  eventId!: string;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;
}
