import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { allAuditSubject, AuditRecord, streamName, type BusNaming } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { AckPolicy, DeliverPolicy, JetStreamApiError, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { DataSource } from 'typeorm';

export const AUDIT_NAMING = Symbol('AuditNaming');
/** The durable consumer every inventory replica shares. */
export const FLEET_AUDIT_DURABLE = 'inventory-audit';

/**
 * Gathers every service's audit records (`<prefix>.audit.>`) into the inventory's `fleet_audit`
 * table, for `GET /api/v1/audit`. Each record is stored once, whatever is delivered twice.
 */
@Injectable()
export class FleetAuditConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('FleetAuditConsumer');
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;

  constructor(
    @Inject(BusConnection) private readonly bus: BusConnection,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AUDIT_NAMING) private readonly naming: BusNaming,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const stream = streamName(this.naming, 'audit');
    try {
      await this.bus.jsm.consumers.info(stream, FLEET_AUDIT_DURABLE);
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.status === 404)) throw error;
      await this.bus.jsm.consumers.add(stream, { durable_name: FLEET_AUDIT_DURABLE, filter_subject: allAuditSubject(this.naming), ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    }
    const consumer = await this.bus.js.consumers.get(stream, FLEET_AUDIT_DURABLE);
    this.messages = await consumer.consume({ max_messages: 200 });
    this.loop = this.run(this.messages);
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const message of messages) {
      try {
        await this.store(message);
        message.ack();
      } catch (error) {
        this.logger.warn({ msg: 'audit record not stored yet; it will be delivered again', err: error });
        message.nak(1_000);
      }
    }
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
    await this.dataSource.query(
      `INSERT INTO fleet_audit (id, time, service, subject, cluster_id, result, record) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
      [record.id, record.time, record.service, record.subject, record.clusterId ?? null, record.result, JSON.stringify(record)],
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.messages?.stop();
    await this.loop;
  }
}
