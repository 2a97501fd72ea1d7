import type { DataSource } from 'typeorm';
import type { MachineRole } from '../domain/machine-plan.js';
import type { HostFacts } from './facts.js';
import { HostCheckEntity, HostFactsEntity, HostKeyEntity, HostStepEntity } from './host-checks.entity.js';
import type { HostReport } from './preflight.js';
import type { HostKeyHolder, HostKeyPins } from './ssh-session.js';

const UNIQUE_VIOLATION = '23505';

/** Something Flotilla changed on a host, recorded before it is done so that removal undoes exactly it. */
export interface HostChange {
  /** `package`: installed by Flotilla (absent before); `file`: written by Flotilla (the host's own copy saved); `kubeadm`: init or join run. */
  kind: 'package' | 'file' | 'kubeadm';
  /** The package name, file path, or `init` / `join`. */
  target: string;
  /** The step that made it. */
  step: string;
}

export interface RecordedFacts {
  machine: string;
  role: MachineRole;
  address: string;
  facts: HostFacts;
}

/**
 * What the SSH installer learnt and did on users' hosts. Written straight through the DataSource,
 * outside the reconciler's transactions, like anything done on the hosts themselves: a record is
 * never rolled back while its effect on the host stays.
 */
export class HostRecords implements HostKeyPins {
  constructor(private readonly dataSource: DataSource) {}

  async facts(clusterId: string): Promise<RecordedFacts[]> {
    const rows = await this.dataSource.getRepository(HostFactsEntity).find({ where: { clusterId }, order: { machine: 'ASC' } });
    return rows.map((row) => ({ machine: row.machine, role: row.role, address: row.address, facts: row.facts }));
  }

  async factsRows(clusterId: string): Promise<HostFactsEntity[]> {
    return this.dataSource.getRepository(HostFactsEntity).find({ where: { clusterId }, order: { machine: 'ASC' } });
  }

  async saveFacts(clusterId: string, recorded: RecordedFacts): Promise<void> {
    await this.dataSource
      .getRepository(HostFactsEntity)
      .upsert({ clusterId, machine: recorded.machine, role: recorded.role, address: recorded.address, facts: recorded.facts, gatheredAt: new Date() }, ['clusterId', 'machine']);
  }

  async saveChecks(clusterId: string, reports: readonly HostReport[]): Promise<void> {
    const rows = reports.flatMap((report) =>
      report.checks.map((check) => ({ clusterId, machine: report.machine, check: check.check, status: check.status, message: check.message, observed: check.observed, checkedAt: new Date() })),
    );
    if (rows.length > 0) await this.dataSource.getRepository(HostCheckEntity).upsert(rows, ['clusterId', 'machine', 'check']);
  }

  async checks(clusterId: string): Promise<HostCheckEntity[]> {
    return this.dataSource.getRepository(HostCheckEntity).find({ where: { clusterId }, order: { machine: 'ASC' } });
  }

  async steps(clusterId: string, machine?: string): Promise<HostStepEntity[]> {
    return this.dataSource.getRepository(HostStepEntity).find({ where: machine ? { clusterId, machine } : { clusterId }, order: { machine: 'ASC', ordinal: 'ASC' } });
  }

  async step(clusterId: string, machine: string, step: string): Promise<HostStepEntity | null> {
    return this.dataSource.getRepository(HostStepEntity).findOneBy({ clusterId, machine, step });
  }

  /** Marks a step started (again, when a former attempt did not succeed). */
  async stepStarted(clusterId: string, machine: string, step: string, command: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO host_steps (cluster_id, machine, step, ordinal, command, exit_code, output, started_at, finished_at)
       VALUES ($1, $2, $3, (SELECT COALESCE(MAX(ordinal), 0) + 1 FROM host_steps WHERE cluster_id = $1 AND machine = $2), $4, NULL, '', now(), NULL)
       ON CONFLICT (cluster_id, machine, step) DO UPDATE
         SET command = EXCLUDED.command, exit_code = NULL, output = '', started_at = now(), finished_at = NULL,
             ordinal = (SELECT MAX(ordinal) + 1 FROM host_steps WHERE cluster_id = $1 AND machine = $2)`,
      [clusterId, machine, step, command],
    );
  }

  async stepFinished(clusterId: string, machine: string, step: string, exitCode: number, output: string): Promise<void> {
    await this.dataSource.getRepository(HostStepEntity).update({ clusterId, machine, step }, { exitCode, output, finishedAt: new Date() });
  }

  /** Records a change about to be made; the first record of a target stands (a retried step adds nothing). */
  async recordChange(clusterId: string, machine: string, change: HostChange): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO host_changes (cluster_id, machine, kind, target, step) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cluster_id, machine, kind, target) DO NOTHING`,
      [clusterId, machine, change.kind, change.target, change.step],
    );
  }

  /** What Flotilla changed on a host (one machine, or every host of the cluster), in the order it was done. */
  async changes(clusterId: string, machine?: string): Promise<(HostChange & { machine: string })[]> {
    const rows = await this.dataSource.query<{ machine: string; kind: HostChange['kind']; target: string; step: string }[]>(
      `SELECT machine, kind, target, step FROM host_changes WHERE cluster_id = $1 AND ($2::text IS NULL OR machine = $2) ORDER BY recorded_at`,
      [clusterId, machine ?? null],
    );
    return rows.map((row) => ({ machine: row.machine, kind: row.kind, target: row.target, step: row.step }));
  }

  /** After a node was removed and its changes undone: forget how it was installed, so the same machine could join afresh. */
  async forgetInstall(clusterId: string, machine: string, keepPrefix: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM host_changes WHERE cluster_id = $1 AND machine = $2`, [clusterId, machine]);
    await this.dataSource.query(`DELETE FROM host_steps WHERE cluster_id = $1 AND machine = $2 AND NOT starts_with(step, $3)`, [clusterId, machine, keepPrefix]);
    await this.dataSource.query(`DELETE FROM host_facts WHERE cluster_id = $1 AND machine = $2`, [clusterId, machine]);
    await this.dataSource.query(`DELETE FROM host_checks WHERE cluster_id = $1 AND machine = $2`, [clusterId, machine]);
  }

  async pinned(address: string, port: number): Promise<string | null> {
    return (await this.dataSource.getRepository(HostKeyEntity).findOneBy({ address, port }))?.fingerprint ?? null;
  }

  async pin(address: string, port: number, fingerprint: string): Promise<string> {
    await this.dataSource.query(`INSERT INTO host_keys (address, port, fingerprint) VALUES ($1, $2, $3) ON CONFLICT (address, port) DO NOTHING`, [address, port, fingerprint]);
    return (await this.pinned(address, port)) ?? fingerprint;
  }

  async ownerOfKey(address: string, port: number, fingerprint: string): Promise<HostKeyHolder | null> {
    const where = [address.toLowerCase(), port, fingerprint];
    try {
      // A no-op unless the owned host's key is new (its first connection) or changed (an unpinned reinstall).
      await this.dataSource.query(`UPDATE host_owners SET host_key = $3 WHERE address = $1 AND port = $2 AND host_key IS DISTINCT FROM $3`, where);
      return null;
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
      const [holder] = await this.dataSource.query<{ address: string; port: number; cluster_id: string }[]>(
        `SELECT address, port, cluster_id FROM host_owners WHERE host_key = $3 AND NOT (address = $1 AND port = $2)`,
        where,
      );
      // Freed in between: the next connection records the key.
      return holder ? { address: holder.address, port: holder.port, clusterId: holder.cluster_id } : null;
    }
  }

  /** Removes a host's pin, for an operator who knows the host was reinstalled. */
  async unpin(address: string, port: number): Promise<boolean> {
    const result = await this.dataSource.getRepository(HostKeyEntity).delete({ address, port });
    return (result.affected ?? 0) > 0;
  }
}
