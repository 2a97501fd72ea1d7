import { z } from 'zod';
import { CE_HEADER_PREFIX, CONTENT_TYPE_HEADER, DEAD_LETTER_HEADERS, STRUCTURED_CONTENT_TYPE } from '@flotilla/contracts';

/** The one thing read from a message's headers. */
export interface HeaderReader {
  get(name: string): string;
}

/** A dead letter as the operators' API shows it. */
export const DeadLetterView = z.object({
  id: z.string().describe("Its sequence in the dead-letter stream: what POST /api/v1/dead-letters/{id}/replay takes"),
  service: z.string().describe('The service whose consumer refused it'),
  consumer: z.string().describe('The durable consumer that refused it, the one a replay goes back to'),
  code: z.string().describe('The rejection code (RejectionCode of the contracts)'),
  reason: z.string().describe('Why, in words'),
  deliveries: z.number().int().nullable().describe('Deliveries before it was refused'),
  event: z.object({ id: z.string().nullable(), type: z.string().nullable(), subject: z.string().nullable().describe('The cluster id'), time: z.string().nullable() }),
  originalSubject: z.string().describe('The events subject it was published on'),
  deadLetteredAt: z.string(),
  replayedAt: z.string().nullable(),
  replayedBy: z.string().nullable().describe('The subject of the token that replayed it'),
});
export type DeadLetterView = z.infer<typeof DeadLetterView>;

/** A row of `dead_letters`. */
export interface DeadLetterRow {
  sequence: string;
  service: string;
  consumer: string;
  code: string;
  reason: string;
  deliveries: number | null;
  event_id: string | null;
  event_type: string | null;
  event_subject: string | null;
  event_time: Date | null;
  original_subject: string;
  dead_lettered_at: Date;
  replayed_at: Date | null;
  replayed_by: string | null;
}

export function viewOf(row: DeadLetterRow): DeadLetterView {
  return {
    id: String(row.sequence),
    service: row.service,
    consumer: row.consumer,
    code: row.code,
    reason: row.reason,
    deliveries: row.deliveries,
    event: { id: row.event_id, type: row.event_type, subject: row.event_subject, time: row.event_time?.toISOString() ?? null },
    originalSubject: row.original_subject,
    deadLetteredAt: row.dead_lettered_at.toISOString(),
    replayedAt: row.replayed_at?.toISOString() ?? null,
    replayedBy: row.replayed_by,
  };
}

/** The service of a durable consumer: durables are named `<service>__<pattern>`. */
export function serviceOfConsumer(consumer: string): string {
  const separator = consumer.indexOf('__');
  return separator > 0 ? consumer.slice(0, separator) : consumer;
}

/**
 * What a dead letter says about itself, from its headers (binary mode) or its payload
 * (structured mode). A letter refused because it could not be read may say little.
 */
export function describeDeadLetter(
  sequence: number,
  subject: string,
  headers: HeaderReader | undefined,
  payload: Uint8Array,
  deadLetteredAt: Date,
): Omit<DeadLetterRow, 'replayed_at' | 'replayed_by'> {
  const header = (name: string): string | null => headers?.get(name) || null;
  const attributes = structuredAttributes(header(CONTENT_TYPE_HEADER), payload);
  const attribute = (name: string): string | null => header(`${CE_HEADER_PREFIX}${name}`) ?? attributes[name] ?? null;
  const consumer = header(DEAD_LETTER_HEADERS.consumer) ?? subject.split('.').at(-1) ?? subject;
  const deliveries = Number(header(DEAD_LETTER_HEADERS.deliveries));
  const time = attribute('time');
  return {
    sequence: String(sequence),
    service: serviceOfConsumer(consumer),
    consumer,
    code: header(DEAD_LETTER_HEADERS.code) ?? 'unknown',
    reason: header(DEAD_LETTER_HEADERS.reason) ?? '',
    deliveries: Number.isSafeInteger(deliveries) && deliveries > 0 ? deliveries : null,
    event_id: attribute('id'),
    event_type: attribute('type'),
    event_subject: attribute('subject'),
    event_time: time !== null && !Number.isNaN(Date.parse(time)) ? new Date(time) : null,
    original_subject: header(DEAD_LETTER_HEADERS.originalSubject) ?? '',
    dead_lettered_at: deadLetteredAt,
  };
}

function structuredAttributes(contentType: string | null, payload: Uint8Array): Record<string, string> {
  if (!contentType?.toLowerCase().startsWith(STRUCTURED_CONTENT_TYPE)) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.from(payload).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}
