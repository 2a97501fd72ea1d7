import type { Reason } from '@flotilla/contracts';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Condition } from '../domain/conditions.js';
import type { MachinePhase, MachineRemoval, MachineState } from '../domain/cluster/index.js';
import type { HostRef, MachineRole } from '../domain/machine-plan.js';

/** A machine of a cluster: its lifecycle state, and the reconciler's bookkeeping about it. */
@Entity({ name: 'machines' })
export class MachineEntity {
  @PrimaryColumn('text', { name: 'cluster_id' })
  clusterId!: string;

  @PrimaryColumn('text')
  name!: string;

  /** Position in the spec, so machines list in the order they were asked for. */
  @Column('integer')
  ordinal!: number;

  @Column('text')
  role!: MachineRole;

  @Column('text', { nullable: true })
  pool!: string | null;

  @Column('text', { name: 'machine_size', nullable: true })
  machineSize!: string | null;

  @Column('jsonb', { nullable: true })
  host!: HostRef | null;

  @Column('text')
  phase!: MachinePhase;

  @Column('text', { name: 'provider_id', nullable: true })
  providerId!: string | null;

  @Column('jsonb')
  addresses!: string[];

  /** The version it is made and joined on. */
  @Column('text', { name: 'kubernetes_version' })
  kubernetesVersion!: string;

  @Column('jsonb', { nullable: true })
  replaces!: MachineState['replaces'];

  /** Why it is being released (phase Deleting). */
  @Column('jsonb', { nullable: true })
  removal!: MachineRemoval | null;

  @Column('timestamptz', { name: 'unhealthy_since', nullable: true })
  unhealthySince!: Date | null;

  @Column('jsonb', { nullable: true })
  upgrade!: MachineState['upgrade'];

  /** What was done about a user's host that failed its health check. */
  @Column('jsonb', { nullable: true })
  remediation!: MachineState['remediation'];

  @Column('text', { name: 'kubelet_version', nullable: true })
  kubeletVersion!: string | null;

  @Column('jsonb', { name: 'failure_reason', nullable: true })
  failureReason!: Reason | null;

  @Column('timestamptz', { nullable: true })
  deadline!: Date | null;

  @Column('jsonb')
  conditions!: Condition[];

  /** When the reconciler should look at it next; NULL once nothing is left to do. */
  @Column('timestamptz', { name: 'next_reconcile_at', nullable: true })
  nextReconcileAt!: Date | null;

  /** The reconciler replica that claimed it last. */
  @Column('text', { name: 'claimed_by', nullable: true })
  claimedBy!: string | null;

  @Column('integer')
  claims!: number;

  @Column('integer', { name: 'provider_errors' })
  providerErrors!: number;

  @Column('text', { name: 'last_error', nullable: true })
  lastError!: string | null;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}
