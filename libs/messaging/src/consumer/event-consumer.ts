import { admitMessage, eventsSubject, replaySubject, streamName, type CloudEvent, type EventDefinition } from '@flotilla/contracts';
import type { Consumer, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { DataSource, QueryRunner } from 'typeorm';
import { originOf, type DeadLetters } from '../dead-letter.js';
import { ABORTED_BY_A_CAUGHT_ERROR, describeError, isPermanent, sqlState, TRANSACTION_ABORTED } from '../errors.js';
import { claimInbox, eventDigest } from '../inbox/inbox-store.js';
import { headerRecord, Lanes, orderingKey, TransactionSlots } from './lanes.js';
import type { MessagingMetrics } from '../metrics.js';
import type { BusOptions } from '../options.js';
import { insertOutboxRows, type OutboxRow } from '../outbox/outbox-store.js';
import { override } from './overrides.js';
import { withinBound } from './handler-bound.js';
import { withPipelinedConnection } from './pipelining.js';
import { decideOnFailure, nakDelayMs } from '../retry-policy.js';
import { durableName, ensureConsumer } from '../topology.js';
import { endWithError, extractTraceContext, startBatchProcessSpan, startProcessSpan, startSettleSpan } from '../tracing.js';
import type { UnitOfWork } from '../unit-of-work.js';

/** What a handler receives besides the event. */
export interface DeliveredEvent {
  event: CloudEvent;
  definition: EventDefinition;
  message: JsMsg;
  consumer: string;
}

export type EventHandler = (delivered: DeliveredEvent) => Promise<void>;
export type BatchEventHandler = (delivered: DeliveredEvent[]) => Promise<void>;

/**
 * How a handler's events of one batch run in its transaction:
 * - `sequential`: one after another (the default; any handler is safe so);
 * - `by-subject`: events about different subjects side by side, each subject's in stream order,
 *   their statements sharing round trips to PostgreSQL. Handlers sharing a transaction do not
 *   isolate each other, so this is for handlers that touch their own subject's rows only: a
 *   read-then-write of a row shared by subjects (a capacity count) could lose an update. A
 *   nested transaction (savepoint) fails there and runs when the batch is retried event by event;
 *   cursors and query streams are refused on the pipelined connection.
 */
export type HandlerConcurrency = 'sequential' | 'by-subject';

/**
 * A handler takes events one at a time, or, where its logic allows set-based SQL, a whole batch
 * in one call: one statement for a hundred events instead of a hundred statements.
 */
export type Handling = { kind: 'single'; handle: EventHandler; concurrency?: HandlerConcurrency } | { kind: 'batch'; handle: BatchEventHandler };

export interface ConsumerLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Fault injection points, for tests that kill a process at the worst moment. */
export interface ConsumerFaults {
  afterCommit?: () => void | Promise<void>;
}

export interface ConsumerDependencies {
  faults?: ConsumerFaults;
  js: JetStreamClient;
  jsm: JetStreamManager;
  dataSource: DataSource;
  unitOfWork: UnitOfWork;
  deadLetters: DeadLetters;
  metrics: MessagingMetrics;
  options: BusOptions;
  logger: ConsumerLogger;
  /** Shared by every consumer of the process (see `BusOptions.maxConcurrentBatches`); one of its own if absent. */
  transactionSlots?: TransactionSlots;
}

/** A message as it waits for its batch: headers read once, and the subject that orders it. */
interface Received {
  message: JsMsg;
  headers: Record<string, string>;
  key: string;
  /** The events subject it was published on (for a replayed dead letter, the original's). */
  natsSubject: string;
}

interface Item extends DeliveredEvent, Received {
  /** What makes a redelivery the same event (`eventDigest`). */
  digest: string;
}

type Rejection = Parameters<DeadLetters['reject']>[2];

/** A newer producer's event type: acknowledged and counted, not handled. */
const NEWER_TYPE = Symbol('newer event type');

/** A committed batch: how many were duplicates, and which reused an id with another payload. */
type BatchOutcome = { ok: true; duplicates: number; conflicts: Conflict[] } | { ok: false; item: Item; error: unknown };

interface Conflict {
  item: Item;
  /** The digest the id was first claimed with (null: claimed before digests were kept). */
  claimed: string;
}

/**
 * One durable pull consumer: a subject filter handled by one handler, shared by every replica of
 * the service. Messages are buffered as they arrive and handled in batches, one PostgreSQL
 * transaction per batch (inbox claims, state changes and outbox rows together), then acked. When
 * a handler fails inside a batch, the batch is rolled back and its messages are retried one
 * transaction each, so one bad message never holds back the rest.
 */
export class EventConsumer {
  readonly durable: string;
  readonly filterSubject: string;
  private readonly stream: string;
  private readonly replayStream: string;
  private consumer: Consumer | undefined;
  private messages: ConsumerMessages | undefined;
  private replays: ConsumerMessages | undefined;
  private readonly lanes: Lanes<Received>;
  private readonly running = new Set<Promise<void>>();
  /** The batches being handled, for the age of the oldest message held. */
  private readonly inHand = new Set<readonly Received[]>();
  private readonly slots: TransactionSlots;
  private stopped = false;
  private pendingTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: ConsumerDependencies,
    readonly pattern: string,
    private readonly handling: Handling,
  ) {
    this.durable = durableName(deps.options.service, pattern);
    this.filterSubject = eventsSubject(deps.options, pattern);
    this.stream = streamName(deps.options, 'events');
    this.replayStream = streamName(deps.options, 'replay');
    this.slots = deps.transactionSlots ?? new TransactionSlots(Math.max(1, deps.options.lanes));
    this.lanes = new Lanes(deps.options.batchSize, Math.max(1, deps.options.lanes));
  }

  async start(): Promise<void> {
    const { js, jsm, options } = this.deps;
    await ensureConsumer(jsm, { stream: this.stream, durable: this.durable, filterSubject: this.filterSubject }, options);
    this.consumer = await js.consumers.get(this.stream, this.durable);
    this.messages = await this.consumer.consume({
      // Enough for every lane to have a batch in hand and the next one waiting.
      max_messages: options.batchSize * (Math.max(1, options.lanes) + 1),
      callback: (message) => this.enqueue(message),
    });
    // Dead letters an operator sends back to this consumer (and to no other) after a fix: handled
    // exactly like deliveries of the events stream, through the same inbox, so a second one has no effect.
    await ensureConsumer(jsm, { stream: this.replayStream, durable: this.durable, filterSubject: replaySubject(options, this.durable) }, options);
    this.replays = await (await js.consumers.get(this.replayStream, this.durable)).consume({ max_messages: options.batchSize, callback: (message) => this.enqueue(message) });
    this.pendingTimer = setInterval(() => void this.reportPending(), 5_000);
    this.pendingTimer.unref();
    this.keepAliveTimer = setInterval(() => this.keepBufferAlive(), Math.max(1_000, options.ackWaitMs / 3));
    this.keepAliveTimer.unref();
  }

  /** Stops pulling, finishes the batch in hand, and hands buffered messages back to the stream. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pendingTimer);
    clearInterval(this.keepAliveTimer);
    this.messages?.stop();
    this.replays?.stop();
    while (this.running.size > 0) await Promise.all(this.running);
    for (const { message } of this.lanes.takeAll()) message.nak();
  }

  private enqueue(message: JsMsg): void {
    if (this.stopped) {
      message.nak();
      return;
    }
    const headers = headerRecord(message);
    const key = orderingKey(headers);
    this.lanes.push({ message, headers, key, natsSubject: originOf(message, this.deps.options).subject }, key);
    this.startBatches();
  }

  /** Starts every batch the lanes allow now; each finished batch looks for the next. */
  private startBatches(): void {
    while (!this.stopped) {
      const taken = this.lanes.next();
      if (!taken) return;
      this.inHand.add(taken.items);
      const run = this.processUntilDone(taken.items)
        .catch((error: unknown) => this.deps.logger.error('batch failed unexpectedly', { consumer: this.durable, error: describeError(error) }))
        .finally(() => {
          this.inHand.delete(taken.items);
          this.lanes.done(taken);
          this.running.delete(run);
          if (!this.stopped) this.startBatches();
        });
      this.running.add(run);
    }
  }

  /**
   * Infrastructure failures (PostgreSQL or NATS unreachable) are not the messages' fault: the
   * batch is kept, its ack deadline extended, and retried with backoff for as long as the outage
   * lasts, instead of spending the messages' deliveries.
   */
  private async processUntilDone(batch: Received[]): Promise<void> {
    const { options, logger } = this.deps;
    // Admitted once: a retry must not dead-letter (and count) the same bad message again.
    let items: Item[] | undefined;
    for (let failures = 1; ; failures++) {
      try {
        items ??= await this.admitAll(batch);
        const admitted = items;
        await this.slots.run(() => this.handleItems(admitted));
        return;
      } catch (error) {
        if (this.stopped) {
          for (const { message } of batch) message.nak();
          return;
        }
        const delayMs = Math.min(nakDelayMs(failures, options.retry), options.ackWaitMs / 3);
        logger.error('batch failed on infrastructure; retrying', { consumer: this.durable, error: describeError(error), failures, delayMs });
        for (const { message } of batch) message.working();
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  /** Buffered messages waiting their turn must not be redelivered meanwhile. */
  private keepBufferAlive(): void {
    for (const { message } of this.lanes.items()) message.working();
  }

  private async admitAll(batch: Received[]): Promise<Item[]> {
    const items: Item[] = [];
    for (const received of batch) {
      const admitted = this.admit(received);
      if (admitted === NEWER_TYPE) this.skipNewerType(received);
      else if ('event' in admitted) items.push(admitted);
      else await this.reject(received, admitted);
    }
    return items;
  }

  private async handleItems(items: Item[]): Promise<void> {
    if (items.length === 0) return;

    const started = performance.now();
    const outcome = await this.handleInTransaction(items);
    if (outcome.ok) {
      await this.settle(items, outcome);
    } else if (items.length === 1) {
      await this.handleFailure(outcome.item, outcome.error);
    } else {
      // Isolate the failure: each message on its own.
      for (const item of items) {
        const single = await this.handleInTransaction([item]);
        if (single.ok) await this.settle([item], single);
        else await this.handleFailure(item, single.error);
      }
    }
    this.deps.metrics.handlerSeconds.observe({ consumer: this.durable }, (performance.now() - started) / 1000);
    this.deps.metrics.batchSize.observe({ consumer: this.durable }, items.length);
  }

  /**
   * The envelope check every consumer shares (`admitMessage` from the contracts): the event to
   * handle, or why the message can never be handled.
   */
  private admit(received: Received): Item | Rejection | typeof NEWER_TYPE {
    const { message, headers, key, natsSubject } = received;
    const { maxEventBytes, prefix } = this.deps.options;
    const admitted = admitMessage({ headers, payload: message.data, natsSubject }, { maxBytes: maxEventBytes, prefix });
    if (!admitted.ok) {
      if (admitted.newerType) return NEWER_TYPE;
      const rejection: Rejection = { code: admitted.code, reason: admitted.reason };
      if (admitted.id !== undefined) rejection.eventId = admitted.id;
      if (admitted.type !== undefined) rejection.eventType = admitted.type;
      if (admitted.subject !== undefined) rejection.eventSubject = admitted.subject;
      return rejection;
    }
    const { event, definition } = admitted;
    return { message, headers, key, natsSubject, event, definition, consumer: this.durable, digest: eventDigest(event) };
  }

  /**
   * Producers roll out before consumers: an event of a type this catalogue does not know yet is
   * acknowledged and counted, never dead-lettered (an unknown version of a known type is).
   */
  private skipNewerType({ message }: Received): void {
    message.ack();
    this.deps.metrics.consumed.inc({ consumer: this.durable, outcome: 'unknown-type' });
  }

  private async reject({ message, natsSubject }: Received, rejection: Rejection): Promise<void> {
    this.deps.logger.warn('event dead-lettered', { consumer: this.durable, code: rejection.code, reason: rejection.reason, eventId: rejection.eventId, subject: natsSubject });
    await this.deps.deadLetters.reject(message, this.durable, rejection);
    this.deps.metrics.consumed.inc({ consumer: this.durable, outcome: 'dead-lettered' });
  }

  private async handleInTransaction(items: Item[]): Promise<BatchOutcome> {
    const { dataSource, unitOfWork } = this.deps;
    const runner = dataSource.createQueryRunner();
    // Only handlers running side by side have statements to send together.
    const connection = this.sideBySide(items) ? withPipelinedConnection : async <T>(_: QueryRunner, work: () => Promise<T>) => work();
    try {
      return await connection(runner, async () => {
        await runner.startTransaction();
        // Sorted: lanes claiming overlapping ids lock them in the same order, so they cannot deadlock.
        const first = new Map<string, Item>();
        for (const item of items) if (!first.has(item.event.id)) first.set(item.event.id, item);
        const entries = [...first.values()].map((item) => ({ id: item.event.id, digest: item.digest })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const claim = await claimInbox(runner, this.durable, entries);
        const freshItems = items.filter((item) => claim.fresh.delete(item.event.id));
        const conflicts = this.conflicts(items, new Set(freshItems), first, claim.seen);
        // A stuck handler must not hold the slot: past the bound, the batch fails on its first
        // event and is retried event by event, each under the same bound.
        const outbox =
          freshItems.length === 0
            ? []
            : await withinBound(runner, this.deps.options.handlerTimeoutMs, () => this.runHandlers(runner, freshItems), (timeout) => new HandlerFailed(freshItems[0]!, timeout));
        await insertOutboxRows(runner, outbox).catch((error: unknown) => {
          // The insert runs even when empty, to find this out: a handler caught a database error
          // and went on, so the transaction is aborted and a commit would quietly roll the batch
          // back while its events were acked.
          if (sqlState(error) === TRANSACTION_ABORTED && freshItems.length > 0) throw new HandlerFailed(freshItems[0]!, new Error(ABORTED_BY_A_CAUGHT_ERROR));
          throw error;
        });
        await runner.commitTransaction();
        if (outbox.length > 0) unitOfWork.notifyCommitted(outbox);
        await this.deps.faults?.afterCommit?.();
        return { ok: true, duplicates: items.length - freshItems.length - conflicts.length, conflicts };
      });
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      if (error instanceof HandlerFailed) return { ok: false, item: error.item, error: error.cause };
      // A data or constraint error at commit time is some message's fault, not an outage:
      // isolate the messages one by one to find it.
      if (isDataError(error)) return { ok: false, item: items[0]!, error };
      throw error;
    } finally {
      await runner.release();
    }
  }

  /**
   * Deliveries that reuse an id with another payload: unlike the event first claimed under the id
   * (before, or earlier in this batch). Never handled, never taken as duplicates.
   */
  private conflicts(items: readonly Item[], handled: ReadonlySet<Item>, first: ReadonlyMap<string, Item>, seen: ReadonlyMap<string, string | null>): Conflict[] {
    const conflicts: Conflict[] = [];
    for (const item of items) {
      if (handled.has(item)) continue;
      const id = item.event.id;
      const claimed = seen.has(id) ? seen.get(id) : first.get(id)!.digest;
      if (claimed !== null && claimed !== undefined && claimed !== item.digest) conflicts.push({ item, claimed });
    }
    return conflicts;
  }

  private async runHandlers(runner: QueryRunner, items: Item[]): Promise<OutboxRow[]> {
    const outbox: OutboxRow[] = [];
    if (items.length === 0) return outbox;
    const { handling } = this;
    if (handling.kind === 'batch') {
      await this.runBatchHandler(runner, items, handling.handle, outbox).catch((error: unknown) => {
        throw new HandlerFailed(items[0]!, error);
      });
    } else if (this.sideBySide(items)) {
      await this.runSingleHandlersBySubject(runner, items, handling.handle, outbox);
    } else {
      for (const item of items) {
        await this.runSingleHandler(runner, item, handling.handle, outbox).catch((error: unknown) => {
          throw new HandlerFailed(item, error);
        });
      }
    }
    return outbox;
  }

  private sideBySide(items: readonly Item[]): boolean {
    return this.handling.kind === 'single' && this.handling.concurrency === 'by-subject' && items.length > 1;
  }

  /**
   * Events about different subjects side by side, each subject's in stream order. The first
   * failure fails the batch once every handler has settled, so none is left mid-statement.
   */
  private async runSingleHandlersBySubject(runner: QueryRunner, items: Item[], handle: EventHandler, outbox: OutboxRow[]): Promise<void> {
    const emitted = new Map<Item, OutboxRow[]>();
    const chains = new Map<string, Promise<void>>();
    let failure: HandlerFailed | undefined;
    for (const item of items) {
      const { key } = item;
      const run = async (): Promise<void> => {
        if (failure) return;
        const rows: OutboxRow[] = [];
        try {
          await this.runSingleHandler(runner, item, handle, rows);
          emitted.set(item, rows);
        } catch (error) {
          failure ??= new HandlerFailed(item, error);
        }
      };
      chains.set(key, (chains.get(key) ?? Promise.resolve()).then(run));
    }
    const refused = await withTransactionControlKept(runner, () => Promise.all(chains.values()));
    if (failure) throw failure;
    // Refused even if the handler caught it: its work is not done, so every event runs on its own.
    if (refused) throw new HandlerFailed(items[0]!, refused);
    for (const item of items) outbox.push(...(emitted.get(item) ?? []));
  }

  private async runSingleHandler(runner: QueryRunner, item: Item, handle: EventHandler, outbox: OutboxRow[]): Promise<void> {
    const pending: OutboxRow[] = [];
    const span = startProcessSpan({
      destination: item.message.subject,
      messageId: item.event.id,
      consumerGroup: this.durable,
      deliveryCount: item.message.info.deliveryCount,
      eventType: item.event.type,
      eventSubject: item.event.subject,
      parent: extractTraceContext(item.headers, context.active()),
    });
    try {
      await context.with(trace.setSpan(context.active(), span), () => this.deps.unitOfWork.withRunner(runner, pending, () => handle(item)));
      span.end();
    } catch (error) {
      endWithError(span, error);
      throw error;
    }
    outbox.push(...pending);
  }

  /**
   * One `process` span for the batch, linked to every message's own trace (the messaging
   * conventions for batch receipt); events the handler emits with `causedBy` continue the trace
   * of the event that caused them.
   */
  private async runBatchHandler(runner: QueryRunner, items: Item[], handle: BatchEventHandler, outbox: OutboxRow[]): Promise<void> {
    const pending: OutboxRow[] = [];
    const span = startBatchProcessSpan({
      destination: items[0]!.message.subject,
      consumerGroup: this.durable,
      links: items.map((item) => extractTraceContext(item.headers, ROOT_CONTEXT)),
    });
    try {
      await context.with(trace.setSpan(context.active(), span), () => this.deps.unitOfWork.withRunner(runner, pending, () => handle(items)));
      span.end();
    } catch (error) {
      endWithError(span, error);
      throw error;
    }
    outbox.push(...pending);
  }

  /** Acks what the batch handled or found duplicated; dead-letters deliveries that reused an id. */
  private async settle(items: Item[], outcome: { duplicates: number; conflicts: Conflict[] }): Promise<void> {
    const { duplicates, conflicts } = outcome;
    const conflicting = new Set(conflicts.map((conflict) => conflict.item));
    for (const item of items) {
      if (conflicting.has(item)) continue;
      const span = startSettleSpan('ack', item.message.subject, item.event.id, this.durable, extractTraceContext(item.headers, context.active()));
      item.message.ack();
      span.end();
    }
    this.deps.metrics.consumed.inc({ consumer: this.durable, outcome: 'handled' }, items.length - duplicates - conflicts.length);
    if (duplicates > 0) this.deps.metrics.consumed.inc({ consumer: this.durable, outcome: 'duplicate' }, duplicates);
    for (const { item, claimed } of conflicts) {
      const reason =
        `event id ${item.event.id} was already taken by an event with another payload (type, source, subject or data differ; ` +
        `digest ${claimed.slice(0, 12)}, this one ${item.digest.slice(0, 12)}): a different event needs its own id`;
      await this.reject(item, { code: 'id-conflict', reason, eventId: item.event.id, eventType: item.event.type, eventSubject: item.event.subject });
    }
  }

  private async handleFailure(item: Item, error: unknown): Promise<void> {
    const { options } = this.deps;
    const decision = decideOnFailure({
      permanent: isPermanent(error),
      deliveryCount: item.message.info.deliveryCount,
      maxDeliver: options.maxDeliver,
      policy: options.retry,
    });
    switch (decision.action) {
      case 'retry': {
        this.deps.logger.warn('handler failed; will retry', {
          consumer: this.durable,
          eventId: item.event.id,
          delivery: item.message.info.deliveryCount,
          delayMs: decision.delayMs,
          error: describeError(error),
        });
        item.message.nak(decision.delayMs);
        this.deps.metrics.consumed.inc({ consumer: this.durable, outcome: 'retried' });
        return;
      }
      case 'dead-letter': {
        // A PermanentError's own code (e.g. `already-imported`) leads the reason, so the
        // publisher learns which refusal it was.
        const detail = isPermanent(error) && error.code !== 'handler-rejected' ? `${error.code}: ${describeError(error)}` : describeError(error);
        const reason = decision.code === 'max-deliveries-exceeded' ? `gave up after ${item.message.info.deliveryCount} deliveries: ${detail}` : detail;
        await this.reject(item, { code: decision.code, reason, eventId: item.event.id, eventType: item.event.type, eventSubject: item.event.subject });
        return;
      }
    }
  }

  /**
   * Messages arrive in stream order, so under a backlog the ones held here (buffered or being
   * handled) are the oldest not yet settled: their age says how close the consumer is to the
   * stream's max age, past which JetStream discards events whether consumed or not.
   */
  private oldestHeldAgeSeconds(): number {
    let oldest = Infinity;
    for (const { message } of this.lanes.items()) oldest = Math.min(oldest, message.time.getTime());
    for (const batch of this.inHand) for (const { message } of batch) oldest = Math.min(oldest, message.time.getTime());
    return oldest === Infinity ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
  }

  private async reportPending(): Promise<void> {
    try {
      const info = await this.consumer?.info(true);
      if (info) this.deps.metrics.consumerPending.set({ consumer: this.durable }, info.num_pending + info.num_ack_pending);
      this.deps.metrics.consumerOldestPendingAge.set({ consumer: this.durable }, this.oldestHeldAgeSeconds());
    } catch {
      // Not being able to read the count is not worth a log line every 5 s; readiness reports NATS.
    }
  }
}

/**
 * Handlers sharing one transaction must leave its control and its connection to the consumer: a
 * nested transaction's savepoints would interleave with the others', a commit or rollback would
 * end the transaction under them (their next statements would then commit on their own), and a
 * release would hand the connection to someone else mid-transaction. Such a call is refused; the
 * first refusal is returned, and the batch is then retried event by event, where nested
 * transactions work.
 */
async function withTransactionControlKept(runner: QueryRunner, work: () => Promise<unknown>): Promise<Error | undefined> {
  let refused: Error | undefined;
  const refuse = (what: string) => () => {
    const error = new Error(`a handler with concurrency 'by-subject' cannot ${what}: nested transactions are for sequential handlers`);
    refused ??= error;
    return Promise.reject(error);
  };
  const restore = override(runner, {
    startTransaction: refuse('control the shared transaction (startTransaction)'),
    commitTransaction: refuse('control the shared transaction (commitTransaction)'),
    rollbackTransaction: refuse('control the shared transaction (rollbackTransaction)'),
    release: refuse('release the shared connection'),
  });
  try {
    await work();
    return refused;
  } finally {
    restore();
  }
}

/** A handler failed on this event (the batch's other events are not to blame). */
class HandlerFailed extends Error {
  constructor(
    readonly item: Item,
    override readonly cause: unknown,
  ) {
    super(`handler failed on event ${item.event.id}`);
  }
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation). */
function isDataError(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'));
}
