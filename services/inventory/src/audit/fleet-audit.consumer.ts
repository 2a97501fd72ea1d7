import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { allAuditSubject, AuditRecord, INVENTORY_AUDIT_DURABLE, streamName, type StreamPlacement } from '@flotilla/contracts';
import { AUDIT_RETENTION_DAYS } from '@flotilla/auth';
import { BusConnection, ensureAuditStream } from '@flotilla/messaging';
import { PeriodicTask } from '@flotilla/service-kit';
import type { JsMsg } from '@nats-io/jetstream';
import { DataSource } from 'typeorm';
import { StreamFollower } from '../streams/stream-follower.js';

export const AUDIT_STREAM_OPTIONS = Symbol('AuditStreamOptions');

export interface AuditStreamOptions {
  prefix: string;
  replicas: number;
  placement?: StreamPlacement | undefined;
  streamMaxBytes: number;
}

/**
 * Gathers every service's audit records (`<prefix>.audit.>`) into the inventory's `fleet_audit`
 * table, for `GET /api/v1/audit`. Each record is stored once, whatever is delivered twice.
 */
@Injectable()
export class FleetAuditConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('FleetAuditConsumer');
  private readonly follower: StreamFollower;
  private readonly pruning = new PeriodicTask('fleet audit pruning', 3_600_000, () => this.prune(), this.logger);

  constructor(
    @Inject(BusConnection) private readonly bus: BusConnection,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AUDIT_STREAM_OPTIONS) private readonly options: AuditStreamOptions,
  ) {
    const followed = { stream: streamName(options, 'audit'), durable: INVENTORY_AUDIT_DURABLE, filterSubject: allAuditSubject(options), what: 'audit record' };
    this.follower = new StreamFollower(bus, followed, (message) => this.store(message), this.logger);
  }

  async onApplicationBootstrap(): Promise<void> {
    // The inventory reads the audit stream, so it makes it: the other services may only publish.
    await ensureAuditStream(this.bus.jsm, this.options);
    this.follower.start();
    this.pruning.start();
  }

  private async store(message: JsMsg): Promise<void> {
    let record: AuditRecord;
    try {
      record = AuditRecord.parse(message.json());
    } catch {
      // Not an audit record: kept in the stream for inspection, never stored or redelivered.
      this.logger.warn({ msg: 'not an audit record', subject: message.subject, sequence: message.seq });
      return;
    }
    // The subject is what the bus's permissions vouch for: a service publishes only on its own.
    const service = message.subject.split('.').at(-1);
    if (record.service !== service) {
      this.logger.warn({ msg: 'audit record claims another service than its subject; not stored', subject: message.subject, claimed: record.service, sequence: message.seq });
      return;
    }
    await this.dataSource.query(
      `INSERT INTO fleet_audit (id, time, service, subject, cluster_id, result, record) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
      [record.id, record.time, record.service, record.subject, record.clusterId ?? null, record.result, JSON.stringify(record)],
    );
  }

  /** Forgets records beyond the audit retention, as the stream does. */
  async prune(olderThanDays = AUDIT_RETENTION_DAYS): Promise<number> {
    const [, count] = await this.dataSource.query<[unknown[], number]>(`DELETE FROM fleet_audit WHERE time < now() - make_interval(days => $1)`, [olderThanDays]);
    return count;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pruning.stop();
    await this.follower.stop();
  }
}
