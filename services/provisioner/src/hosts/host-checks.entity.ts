import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { MachineRole } from '../domain/machine-plan.js';
import type { HostFacts } from './facts.js';
import type { CheckName, CheckStatus } from './preflight.js';

/** One preflight check of one host, as last evaluated. */
@Entity({ name: 'host_checks' })
export class HostCheckEntity {
  @PrimaryColumn('text', { name: 'cluster_id' })
  clusterId!: string;

  @PrimaryColumn('text')
  machine!: string;

  @PrimaryColumn('text', { name: 'check_name' })
  check!: CheckName;

  @Column('text')
  status!: CheckStatus;

  @Column('text')
  message!: string;

  @Column('text')
  observed!: string;

  @Column('timestamptz', { name: 'checked_at', default: () => 'now()' })
  checkedAt!: Date;
}

/** What the fact-gathering script found on a host. */
@Entity({ name: 'host_facts' })
export class HostFactsEntity {
  @PrimaryColumn('text', { name: 'cluster_id' })
  clusterId!: string;

  @PrimaryColumn('text')
  machine!: string;

  @Column('text')
  role!: MachineRole;

  @Column('text')
  address!: string;

  @Column('jsonb')
  facts!: HostFacts;

  @Column('timestamptz', { name: 'gathered_at', default: () => 'now()' })
  gatheredAt!: Date;
}

/** One command run on a host: exit code null while it runs. Output is trimmed and has its secrets masked. */
@Entity({ name: 'host_steps' })
export class HostStepEntity {
  @PrimaryColumn('text', { name: 'cluster_id' })
  clusterId!: string;

  @PrimaryColumn('text')
  machine!: string;

  @PrimaryColumn('text')
  step!: string;

  /** Order of the steps on the host. */
  @Column('integer')
  ordinal!: number;

  @Column('text')
  command!: string;

  @Column('integer', { name: 'exit_code', nullable: true })
  exitCode!: number | null;

  @Column('text')
  output!: string;

  @Column('timestamptz', { name: 'started_at' })
  startedAt!: Date;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;
}

/** The host key first seen at an address and port (trust on first use). */
@Entity({ name: 'host_keys' })
export class HostKeyEntity {
  @PrimaryColumn('text')
  address!: string;

  @PrimaryColumn('integer')
  port!: number;

  @Column('text')
  fingerprint!: string;

  @Column('timestamptz', { name: 'pinned_at', default: () => 'now()' })
  pinnedAt!: Date;
}

export const HOST_ENTITIES = [HostCheckEntity, HostFactsEntity, HostStepEntity, HostKeyEntity];
