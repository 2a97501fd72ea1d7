import { Inject, Injectable } from '@nestjs/common';
import { DEAD_LETTER_HEADERS, replaySubject, streamName, TRACEPARENT_HEADER, TRACESTATE_HEADER } from '@flotilla/contracts';
import { BUS_OPTIONS, BusConnection, type BusOptions } from '@flotilla/messaging';
import { JetStreamApiError } from '@nats-io/jetstream';
import { context, propagation } from '@opentelemetry/api';
import { DataSource } from 'typeorm';
import { viewOf, type DeadLetterRow, type DeadLetterView } from './dead-letter-record.js';

export type ReplayOutcome =
  | { outcome: 'replayed'; letter: DeadLetterView }
  | { outcome: 'already-replayed'; letter: DeadLetterView }
  | { outcome: 'not-found' }
  /** The stream no longer keeps the letter (older than its max age, or purged): nothing to send. */
  | { outcome: 'expired'; letter: DeadLetterView };

/**
 * Sends a dead letter back to the one consumer that refused it, through the replay stream
 * (`<prefix>.replay.<consumer>`): not the events stream, where every other consumer would see it
 * again and the events stream would drop its id as a duplicate. The consumer handles it through its
 * inbox like any delivery, so if it ever arrives twice the second has no effect. A letter is
 * replayed once: the row is locked, the replay published (its id derived from the letter, so a
 * retry after a failed commit is dropped by the replay stream), then marked.
 */
@Injectable()
export class DeadLetterReplay {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(BusConnection) private readonly bus: BusConnection,
    @Inject(BUS_OPTIONS) private readonly options: BusOptions,
  ) {}

  async replay(sequence: string, by: string): Promise<ReplayOutcome> {
    return this.dataSource.transaction(async (manager) => {
      const [row] = await manager.query<DeadLetterRow[]>(`SELECT * FROM dead_letters WHERE sequence = $1 FOR UPDATE`, [sequence]);
      if (!row) return { outcome: 'not-found' };
      if (row.replayed_at) return { outcome: 'already-replayed', letter: viewOf(row) };

      const stored = await this.bus.jsm.streams.getMessage(streamName(this.options, 'dlq'), { seq: Number(sequence) }).catch((error: unknown) => {
        if (error instanceof JetStreamApiError && error.status === 404) return null;
        throw error;
      });
      if (!stored) return { outcome: 'expired', letter: viewOf(row) };

      const headers = stored.header;
      headers.set(DEAD_LETTER_HEADERS.replayOf, sequence);
      // The handling of the replay continues the operator's request's trace (its x-trace-id), not the original's.
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      if (carrier[TRACEPARENT_HEADER]) {
        headers.set(TRACEPARENT_HEADER, carrier[TRACEPARENT_HEADER]);
        if (carrier[TRACESTATE_HEADER]) headers.set(TRACESTATE_HEADER, carrier[TRACESTATE_HEADER]);
      }
      await this.bus.js.publish(replaySubject(this.options, row.consumer), stored.data, { msgID: `replay:${sequence}`, headers });

      const [marked] = await manager.query<[DeadLetterRow[], number]>(
        `UPDATE dead_letters SET replayed_at = now(), replayed_by = $2 WHERE sequence = $1 RETURNING *`,
        [sequence, by],
      );
      return { outcome: 'replayed', letter: viewOf(marked[0]!) };
    });
  }
}
