import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { gaugeOnScrape, type GaugeReading } from '@flotilla/service-kit';
import { DataSource } from 'typeorm';

/**
 * `flotilla_clusters{model,status}`: the fleet as the read model shows it, read when Prometheus
 * scrapes, not on every event, from the counts the read model maintains as clusters change
 * (`cluster_counts` and the changes not folded into it yet, as the overview reads them): a few
 * hundred groups, never every cluster. A count that fails (PostgreSQL away) leaves the last one
 * in place; readiness reports the database.
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
      const rows = await this.dataSource.query<{ model: string | null; status: string; clusters: number }[]>(
        `SELECT nullif(model, '') AS model, status, sum(clusters)::int AS clusters
           FROM (SELECT model, status, clusters FROM cluster_counts UNION ALL SELECT model, status, clusters FROM cluster_count_changes) AS counted
          GROUP BY 1, 2 HAVING sum(clusters) <> 0`,
      );
      return rows.map((row) => ({ labels: { model: row.model ?? 'unknown', status: row.status }, value: row.clusters }));
    } catch (error) {
      this.logger.warn({ msg: 'clusters not counted for the fleet gauge', err: error });
      return undefined;
    }
  }
}
