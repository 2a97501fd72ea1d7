import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import { DataSource } from 'typeorm';
import type { FleetEntry, FleetNode } from '../domain/fleet-entry.js';

interface FleetRow {
  id: string;
  model: FleetEntry['model'];
  distribution: string | null;
  control_plane_version: string | null;
  version_time: Date | null;
  nodes: FleetNode[];
  upgraded_to: string | null;
  upgraded_at: Date | null;
  deleted_at: Date | null;
  last_event_time: Date;
}

const COLUMNS = 'id, model, distribution, control_plane_version, version_time, nodes, upgraded_to, upgraded_at, deleted_at, last_event_time';
const PAGE = 5_000;

/** The fleet view in PostgreSQL. Fact handlers write through the handler's transaction. */
@Injectable()
export class FleetRepository {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(DataSource) private readonly dataSource: DataSource,
  ) {}

  /**
   * The entry, locked until the transaction ends, created blank first if missing: two consumers
   * with facts about one new cluster then serialise instead of overwriting each other.
   */
  async lockOrCreate(id: string, time: string): Promise<FleetEntry> {
    const manager = this.unitOfWork.manager;
    await manager.query(`INSERT INTO fleet_clusters (id, last_event_time) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [id, time]);
    const rows = await manager.query<FleetRow[]>(`SELECT ${COLUMNS} FROM fleet_clusters WHERE id = $1 FOR UPDATE`, [id]);
    return toEntry(rows[0]!);
  }

  async save(entry: FleetEntry): Promise<void> {
    await this.unitOfWork.manager.query(
      `UPDATE fleet_clusters
          SET model = $2, distribution = $3, control_plane_version = $4, version_time = $5, nodes = $6::jsonb,
              deleted_at = $7, last_event_time = $8, upgraded_to = $9, upgraded_at = $10, write_xid = pg_current_xact_id(), updated_at = now()
        WHERE id = $1`,
      [
        entry.id,
        entry.model,
        entry.distribution,
        entry.controlPlaneVersion,
        entry.versionTime,
        JSON.stringify(entry.nodes),
        entry.deletedAt,
        entry.lastEventTime,
        entry.upgraded?.toVersion ?? null,
        entry.upgraded?.time ?? null,
      ],
    );
  }

  /**
   * Visits every entry written since `watermark` (all of them when null) and returns the next
   * watermark. The watermark is the oldest transaction still running when we looked: everything
   * older was committed and seen, so rows committed later by transactions in flight then are
   * read next time (some rows are read twice; visiting is idempotent). Works across replicas,
   * since it reads what anyone committed.
   */
  async scanChanges(watermark: string | null, visit: (entry: FleetEntry) => void): Promise<string> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      // One snapshot for the watermark and every page.
      await runner.startTransaction('REPEATABLE READ');
      const [{ xmin }] = (await runner.query(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`)) as [{ xmin: string }];
      let after = '';
      for (;;) {
        const rows = (await runner.query(
          `SELECT ${COLUMNS} FROM fleet_clusters WHERE ($1::xid8 IS NULL OR write_xid >= $1::xid8) AND id > $2 ORDER BY id LIMIT ${PAGE}`,
          [watermark, after],
        )) as FleetRow[];
        for (const row of rows) visit(toEntry(row));
        if (rows.length < PAGE) break;
        after = rows[rows.length - 1]!.id;
      }
      await runner.commitTransaction();
      return xmin;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw error;
    } finally {
      await runner.release();
    }
  }

  async find(id: string): Promise<FleetEntry | undefined> {
    const rows = await this.unitOfWork.manager.query<FleetRow[]>(`SELECT ${COLUMNS} FROM fleet_clusters WHERE id = $1`, [id]);
    return rows[0] ? toEntry(rows[0]) : undefined;
  }
}

function toEntry(row: FleetRow): FleetEntry {
  return {
    id: row.id,
    model: row.model,
    distribution: row.distribution,
    controlPlaneVersion: row.control_plane_version,
    versionTime: row.version_time?.toISOString() ?? null,
    nodes: row.nodes,
    upgraded: row.upgraded_to !== null && row.upgraded_at !== null ? { toVersion: row.upgraded_to, time: row.upgraded_at.toISOString() } : null,
    deletedAt: row.deleted_at?.toISOString() ?? null,
    lastEventTime: row.last_event_time.toISOString(),
  };
}
