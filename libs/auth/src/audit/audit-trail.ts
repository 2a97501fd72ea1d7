import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { auditSubject, type AuditRecord, type BusNaming } from '@flotilla/contracts';
import type { BusConnection } from '@flotilla/messaging';
import { trace } from '@opentelemetry/api';
import type { DataSource } from 'typeorm';
import type { Principal } from '../principal.js';
import type { AuthenticatedRequest } from '../nest/request.js';

/** What a service says when it uses a stored credential on its own (an SSH key, a cloud account). */
export interface CredentialUse {
  /** What was used, e.g. `ssh-key`, `cloud-account`, `management-cluster`. */
  what: string;
  /** On whose behalf: the subject who asked for the work, when known. */
  subject?: string;
  clusterId?: string;
  ok: boolean;
  reason?: string;
}

/** A request relayed by the service, as `recordRequest` takes it. */
export interface RelayedRequest {
  principal: Partial<Principal> | undefined;
  method: string;
  /** What was asked for: a path without its query (a query may carry anything). */
  route: string;
  clusterId?: string;
  status: number;
  reason?: string;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

interface AuditEntry {
  principal: Partial<Principal> | undefined;
  method: string;
  route: string;
  clusterId?: string | undefined;
  status: number;
  reason?: string | undefined;
  traceId: string | undefined;
  bytesIn?: number;
  bytesOut?: number;
  durationMs?: number;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const REPUBLISH_INTERVAL_MS = 5_000;
const REPUBLISH_BATCH = 200;
/** As long as the audit stream keeps them; the fleet's copy in the inventory follows the same rule. */
export const AUDIT_RETENTION_DAYS = 90;
const PRUNE_INTERVAL_MS = 3_600_000;

/**
 * Records every change made through a service's API and every refusal: in the service's own
 * `audit_records` table first, then on `<prefix>.audit.<service>` for whoever follows the fleet's
 * audit trail. Records hold who, what, when, result and trace id; never a body or a secret.
 * Records whose publication failed are published again in the background.
 */
export class AuditTrail implements OnModuleDestroy {
  private readonly logger = new Logger('AuditTrail');
  private readonly subject: string;
  private readonly timer: NodeJS.Timeout;
  private readonly pruning: NodeJS.Timeout;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: Pick<BusConnection, 'js'>,
    private readonly service: string,
    naming: BusNaming,
  ) {
    this.subject = auditSubject(naming, service);
    this.timer = setInterval(() => void this.republish().catch((error: unknown) => this.logger.warn({ msg: 'audit records not republished', err: error })), REPUBLISH_INTERVAL_MS);
    this.timer.unref();
    this.pruning = setInterval(() => void this.prune().catch((error: unknown) => this.logger.warn({ msg: 'audit records not pruned', err: error })), PRUNE_INTERVAL_MS);
    this.pruning.unref();
  }

  /** Forgets records older than the retention, published or not. */
  async prune(olderThanDays = AUDIT_RETENTION_DAYS): Promise<number> {
    const [, count] = await this.dataSource.query<[unknown[], number]>(`DELETE FROM audit_records WHERE time < now() - make_interval(days => $1)`, [olderThanDays]);
    return count;
  }

  /** Express middleware: looks at every response as it finishes. */
  middleware(): (request: IncomingMessage, response: ServerResponse, next: () => void) => void {
    return (request, response, next) => {
      const traceId = trace.getActiveSpan()?.spanContext().traceId;
      // 'close', not 'finish': a caller that hangs up before the answer still made its change.
      response.on('close', () => {
        const req = request as IncomingMessage & AuthenticatedRequest;
        if (req.audit?.recordedByHandler) return;
        const refused = response.statusCode === 401 || response.statusCode === 403;
        if (SAFE_METHODS.has(req.method) && !refused && !req.audit?.recordRead) return;
        const note = req.audit ?? {};
        const hungUp = response.writableFinished ? undefined : 'the caller closed the connection before the answer';
        this.track(
          this.record({
            principal: note.principal ?? req.principal,
            method: req.method,
            route: note.route ?? (req.originalUrl ?? req.url).split('?')[0]!,
            clusterId: note.clusterId,
            status: response.statusCode,
            reason: note.refusal ?? hungUp ?? (response.statusCode >= 400 ? `HTTP ${response.statusCode}` : note.detail),
            traceId,
          }),
        );
      });
      next();
    };
  }

  /**
   * A request the service answered outside its routes (relayed, upgraded): recorded whatever the
   * method, with its size and duration. Never a body or a credential.
   */
  recordRequest(entry: RelayedRequest): Promise<void> {
    const work = this.record({ ...entry, traceId: trace.getActiveSpan()?.spanContext().traceId });
    this.track(work);
    return work;
  }

  /** A use of a stored credential by the service itself, audited like a request. */
  recordUse(use: CredentialUse): Promise<void> {
    return this.record({
      // Work the service does on its own behalf is recorded as the service's.
      principal: { subject: use.subject ?? `service:${this.service}` },
      method: 'USE',
      route: use.what,
      clusterId: use.clusterId,
      status: use.ok ? 200 : 500,
      reason: use.reason,
      traceId: trace.getActiveSpan()?.spanContext().traceId,
    });
  }

  private async record(entry: AuditEntry): Promise<void> {
    const { principal } = entry;
    const record: AuditRecord = {
      id: randomUUID(),
      time: new Date().toISOString(),
      service: this.service,
      subject: principal?.subject ?? 'anonymous',
      ...(principal?.tokenId ? { tokenId: principal.tokenId } : {}),
      ...(principal?.issuer ? { issuer: principal.issuer } : {}),
      ...(principal?.role ? { role: principal.role } : {}),
      method: entry.method,
      route: entry.route,
      ...(entry.clusterId ? { clusterId: entry.clusterId } : {}),
      result: entry.status === 401 || entry.status === 403 ? 'refused' : entry.status >= 400 ? 'failed' : 'ok',
      status: entry.status,
      ...(entry.reason ? { reason: entry.reason } : {}),
      ...(entry.traceId ? { traceId: entry.traceId } : {}),
      ...(entry.bytesIn === undefined ? {} : { bytesIn: entry.bytesIn }),
      ...(entry.bytesOut === undefined ? {} : { bytesOut: entry.bytesOut }),
      ...(entry.durationMs === undefined ? {} : { durationMs: Math.round(entry.durationMs * 1000) / 1000 }),
    };
    try {
      await this.dataSource.query(`INSERT INTO audit_records (id, time, record) VALUES ($1, $2, $3)`, [record.id, record.time, JSON.stringify(record)]);
      await this.publish([record]);
    } catch (error) {
      // The request is answered already; the record is either stored (and republished) or logged.
      this.logger.error({ msg: 'audit record not stored', err: error, record });
    }
  }

  private async publish(records: AuditRecord[]): Promise<void> {
    const published: string[] = [];
    for (const record of records) {
      try {
        await this.bus.js.publish(this.subject, JSON.stringify(record), { msgID: record.id });
        published.push(record.id);
      } catch {
        break; // left for the next round, in order
      }
    }
    if (published.length > 0) await this.dataSource.query(`UPDATE audit_records SET published_at = now() WHERE id = ANY($1::uuid[])`, [published]);
  }

  /** Publishes records a failed publish (or a crash) left behind. */
  async republish(): Promise<number> {
    const rows: { record: AuditRecord }[] = await this.dataSource.query(
      `SELECT record FROM audit_records WHERE published_at IS NULL AND time < now() - interval '2 seconds' ORDER BY time LIMIT ${REPUBLISH_BATCH}`,
    );
    await this.publish(rows.map((row) => row.record));
    return rows.length;
  }

  /** Waits for the records being written (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.pruning);
    await this.settled();
  }
}
