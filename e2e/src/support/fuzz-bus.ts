/*
 * What the event fuzzing reads back: the dead letters of a bus prefix and the inbox of each
 * service (an id in a consumer's inbox is an event its handler committed).
 */
import { DEAD_LETTER_HEADERS, durableName, isService, streamName, WHOLE_BUS_CONSUMERS, type EventDefinition } from '@flotilla/contracts';
import type { BusConnection } from '@flotilla/messaging';
import type { TestService } from '@flotilla/service-kit/testing';
import pg from 'pg';

export interface DeadLetter {
  consumer: string;
  code: string;
  reason: string;
  originalSequence: number;
}

/** The durable consumers of each service that read events of the definition. */
export function consumersOf(definition: EventDefinition): string[] {
  return definition.consumers.filter(isService).map((service) => durableName(service, WHOLE_BUS_CONSUMERS.includes(service) ? '>' : definition.channel));
}

/** Reads the dead-letter stream of a prefix from where the last call stopped. */
export class DeadLetterReader {
  private next = 1;
  readonly letters = new Map<string, DeadLetter>();

  constructor(
    private readonly bus: BusConnection,
    private readonly prefix: string,
  ) {}

  static key(consumer: string, originalSequence: number): string {
    return `${consumer}@${originalSequence}`;
  }

  async read(): Promise<Map<string, DeadLetter>> {
    const stream = streamName({ prefix: this.prefix }, 'dlq');
    const info = await this.bus.jsm.streams.info(stream).catch(() => undefined);
    if (!info) return this.letters;
    for (; this.next <= info.state.last_seq; this.next++) {
      const stored = await this.bus.jsm.streams.getMessage(stream, { seq: this.next }).catch(() => null);
      if (!stored) continue;
      const header = (name: string) => stored.header?.get(name) ?? '';
      const letter = { consumer: header(DEAD_LETTER_HEADERS.consumer), code: header(DEAD_LETTER_HEADERS.code), reason: header(DEAD_LETTER_HEADERS.reason), originalSequence: Number(header(DEAD_LETTER_HEADERS.originalStreamSequence)) };
      this.letters.set(DeadLetterReader.key(letter.consumer, letter.originalSequence), letter);
    }
    return this.letters;
  }
}

/** The ids among `ids` that any consumer of the service committed. */
export async function handledIds(service: TestService, ids: readonly string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: service.env['DATABASE_URL'] });
  await client.connect();
  try {
    const result = await client.query<{ event_id: string }>(`SELECT DISTINCT event_id FROM "${service.env['DATABASE_SCHEMA']}".inbox WHERE event_id = ANY($1::text[])`, [ids]);
    return result.rows.map((row) => row.event_id);
  } finally {
    await client.end();
  }
}

/** True when the service answers its readiness probe with 200. */
export async function isReady(service: TestService): Promise<boolean> {
  const response = await fetch(`${service.url}/readyz`).catch(() => undefined);
  await response?.body?.cancel();
  return response?.status === 200;
}
