import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '@flotilla/auth';
import { AuditRecord } from '@flotilla/contracts';
import { ApiAnswer, ApiErrors, ApiQueryParameters, ZodValidationPipe } from '@flotilla/service-kit';
import { DataSource } from 'typeorm';
import { z } from 'zod';

const ListAuditQuery = z.strictObject({
  subject: z.string().min(1).optional(),
  service: z.string().min(1).optional(),
  clusterId: z.string().min(1).optional(),
  result: z.enum(['ok', 'refused', 'failed']).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('ISO time, inclusive'),
  until: z.iso.datetime({ offset: true }).optional().describe('ISO time, exclusive'),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .transform((text, context) => {
      const [time, id] = Buffer.from(text, 'base64url').toString().split('|');
      if (!time || !id || Number.isNaN(Date.parse(time)) || !/^[0-9a-f-]{36}$/.test(id)) {
        context.addIssue({ code: 'custom', message: 'must be the nextCursor of a previous page' });
        return z.NEVER;
      }
      return { time, id };
    })
    .optional()
    .describe('nextCursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
type ListAuditQuery = z.infer<typeof ListAuditQuery>;

const AuditPage = z.object({ items: z.array(AuditRecord).describe('Newest first'), nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last') });

/** The fleet's audit trail: every change and refusal of every service, newest first. */
@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditController {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  @Get()
  @Access('admin')
  @ApiOperation({ summary: 'Audit records of every service, newest first, a page at a time (`cursor`: the nextCursor of the previous page)' })
  @ApiQueryParameters(ListAuditQuery)
  @ApiAnswer(200, AuditPage, 'A page of audit records')
  @ApiErrors({ 400: 'Invalid filter, time, limit or cursor, named' })
  async list(@Query(new ZodValidationPipe(ListAuditQuery)) query: ListAuditQuery): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      conditions.push(sql.replace('?', `$${values.length}`));
    };
    if (query.subject) add('subject = ?', query.subject);
    if (query.service) add('service = ?', query.service);
    if (query.clusterId) add('cluster_id = ?', query.clusterId);
    if (query.result) add('result = ?', query.result);
    if (query.since) add('time >= ?', query.since);
    if (query.until) add('time < ?', query.until);
    if (query.cursor) {
      // Keyset on (time, id): records sharing a millisecond are neither skipped nor repeated.
      values.push(query.cursor.time, query.cursor.id);
      conditions.push(`(time, id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
    }
    values.push(query.limit + 1);
    const rows = await this.dataSource.query<{ id: string; time: Date; record: AuditRecord }[]>(
      `SELECT id, time, record FROM fleet_audit ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''} ORDER BY time DESC, id DESC LIMIT $${values.length}`,
      values,
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? Buffer.from(`${last.time.toISOString()}|${last.id}`).toString('base64url') : null;
    return { items: page.map((row) => row.record), nextCursor };
  }
}
