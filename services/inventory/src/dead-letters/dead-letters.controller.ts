import { Controller, GoneException, Get, HttpStatus, Inject, NotFoundException, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Access, Caller, noteAuditTarget, type AuthenticatedRequest, type Principal } from '@flotilla/auth';
import { ApiAnswer, ApiErrors, ApiQueryParameters, ZodValidationPipe } from '@flotilla/service-kit';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { DeadLetterView, viewOf, type DeadLetterRow } from './dead-letter-record.js';
import { DeadLetterReplay } from './dead-letter-replay.js';

/** The one thing the replay answer needs from the HTTP response. */
interface StatusSettable {
  status(code: number): unknown;
}

const SEQUENCE = /^[1-9][0-9]{0,17}$/;

const ListDeadLettersQuery = z.strictObject({
  service: z.string().min(1).max(100).optional().describe('the service whose consumer refused it'),
  consumer: z.string().min(1).max(200).optional().describe('the durable consumer, e.g. provisioner__cluster_requested_v1'),
  type: z.string().min(1).max(512).optional().describe('the event type'),
  clusterId: z.string().min(1).max(253).optional().describe("the event's subject"),
  replayed: z.enum(['true', 'false']).transform((value) => value === 'true').optional(),
  cursor: z.string().regex(SEQUENCE, 'must be the nextCursor of a previous page').optional().describe('nextCursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
type ListDeadLettersQuery = z.infer<typeof ListDeadLettersQuery>;

const DeadLetterId = z.string().regex(SEQUENCE, 'must be the id of a dead letter (a positive integer)');

const DeadLetterPage = z.object({ items: z.array(DeadLetterView).describe('Newest first'), nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last') });

const ReplayAnswer = z.object({
  status: z.enum(['replayed', 'already-replayed']).describe('replayed: sent back to its consumer now; already-replayed: it was before, nothing was sent'),
  deadLetter: DeadLetterView,
});
type ReplayAnswer = z.infer<typeof ReplayAnswer>;

/**
 * Messages that could never succeed, as every service's consumers dead-lettered them, and their
 * replay to the consumer that refused them once what made them fail is fixed.
 */
@ApiTags('dead-letters')
@Controller('api/v1/dead-letters')
export class DeadLettersController {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(DeadLetterReplay) private readonly replays: DeadLetterReplay,
  ) {}

  @Get()
  @Access('admin')
  @ApiOperation({
    summary: 'Dead letters of every service, newest first, a page at a time: `{ items, nextCursor }`',
    description:
      'Each item: `id` (its sequence in the dead-letter stream), `service` and `consumer` (the durable that refused it), `code` and `reason`, `deliveries`, the event (`id`, `type`, `subject`, `time`), `originalSubject`, `deadLetteredAt`, and `replayedAt`/`replayedBy` once replayed.',
  })
  @ApiQueryParameters(ListDeadLettersQuery)
  @ApiAnswer(200, DeadLetterPage, 'A page of dead letters')
  @ApiErrors({ 400: 'A bad filter, limit or cursor, named' })
  async list(@Query(new ZodValidationPipe(ListDeadLettersQuery)) query: ListDeadLettersQuery): Promise<z.infer<typeof DeadLetterPage>> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      conditions.push(sql.replace('?', `$${values.length}`));
    };
    if (query.service) add('service = ?', query.service);
    if (query.consumer) add('consumer = ?', query.consumer);
    if (query.type) add('event_type = ?', query.type);
    if (query.clusterId) add('event_subject = ?', query.clusterId);
    if (query.replayed !== undefined) conditions.push(query.replayed ? 'replayed_at IS NOT NULL' : 'replayed_at IS NULL');
    if (query.cursor) add('sequence < ?::bigint', query.cursor);
    values.push(query.limit + 1);
    const rows = await this.dataSource.query<DeadLetterRow[]>(
      `SELECT * FROM dead_letters ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''} ORDER BY sequence DESC LIMIT $${values.length}`,
      values,
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return { items: page.map(viewOf), nextCursor: rows.length > query.limit && last ? String(last.sequence) : null };
  }

  @Post(':id/replay')
  @Access('admin')
  @ApiOperation({
    summary: 'Send a dead letter back to the consumer that refused it (and to no other), once',
    description:
      "202 `{ status: 'replayed', deadLetter }` the first time; 200 `{ status: 'already-replayed', deadLetter }` after that, sending nothing. The consumer handles it through its inbox, so an event it already handled has no second effect; if it fails again it is dead-lettered again, as a new dead letter.",
  })
  @ApiParam({ name: 'id', description: 'the dead letter id (its sequence in the dead-letter stream)' })
  @ApiAnswer(202, ReplayAnswer, 'Sent back to its consumer')
  @ApiAnswer(200, ReplayAnswer, 'Replayed before: nothing sent')
  @ApiErrors({ 400: 'Not a dead letter id', 404: 'No such dead letter', 410: 'The dead-letter stream no longer keeps it (code dead-letter-expired)' })
  async replay(
    @Caller() caller: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ZodValidationPipe(DeadLetterId)) id: string,
    @Res({ passthrough: true }) response: StatusSettable,
  ): Promise<ReplayAnswer> {
    const result = await this.replays.replay(id, caller.subject);
    if (result.outcome === 'not-found') throw new NotFoundException(`dead letter "${id}" not found`);
    if (result.letter.event.subject) noteAuditTarget(request, result.letter.event.subject);
    switch (result.outcome) {
      case 'expired':
        throw new GoneException({ statusCode: 410, error: 'Gone', code: 'dead-letter-expired', id, message: `dead letter "${id}" is no longer kept by the dead-letter stream: there is nothing to replay` });
      case 'already-replayed':
        response.status(HttpStatus.OK);
        return { status: 'already-replayed', deadLetter: result.letter };
      case 'replayed':
        response.status(HttpStatus.ACCEPTED);
        return { status: 'replayed', deadLetter: result.letter };
    }
  }
}
