import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { gaugeOnScrape, type GaugeReading } from '@flotilla/service-kit';
import { DataSource } from 'typeorm';

/**
 * `flotilla_clusters{model,status}`: the fleet as the read model shows it, counted with one
 * `GROUP BY` (on the `(model, status)` index) when Prometheus scrapes, not on every event. A
 * count that fails (PostgreSQL away) leaves the last one in place; readiness reports the database.
 */
@Injectable()
export class FleetGauge implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('FleetGauge');
  private withdraw?: () => void;

  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    this.withdraw = gaugeOnScrape({ name: 'flotilla_clusters', help: 'Clusters in the inventory, by model and status', labelNames: ['model', 'status'] }, () => this.count());
  }

  onModuleDestroy(): void {
    this.withdraw?.();
  }

  private async count(): Promise<GaugeReading<'model' | 'status'>[] | undefined> {
    try {
      const rows = await this.dataSource.query<{ model: string | null; status: string; clusters: string }[]>(`SELECT model, status, count(*) AS clusters FROM clusters GROUP BY model, status`);
      return rows.map((row) => ({ labels: { model: row.model ?? 'unknown', status: row.status }, value: Number(row.clusters) }));
    } catch (error) {
      this.logger.warn({ msg: 'clusters not counted for the fleet gauge', err: error });
      return undefined;
    }
  }
}
