import { eventsSubject, replaySubject, streamName } from '@flotilla/contracts';
import type { Consumer, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { DataSource } from 'typeorm';
import { originOf, type DeadLetters } from '../dead-letter.js';
import { describeError, sqlState } from '../errors.js';
import type { MessagingMetrics } from '../metrics.js';
import type { BusOptions } from '../options.js';
import { nakDelayMs } from '../retry-policy.js';
import { durableName, ensureConsumer } from '../topology.js';
import type { UnitOfWork } from '../unit-of-work.js';
import { admit, NEWER_TYPE, type Item, type Received } from './admission.js';
import { HandlerFailed, runHandlers, type Handling } from './batching.js';
import { withinBound } from './handler-bound.js';
import { headerRecord, Lanes, orderingKey, TransactionSlots } from './lanes.js';
import { observeBatch, reportPending } from './observability.js';
import { Settlement, type Committed, type Conflict, type ConsumerLogger } from './settlement.js';
import { AbortedByCaughtError } from '../outbox/commit.js';
import { ConsumerTransaction } from './transaction.js';

export type { DeliveredEvent } from './admission.js';
export type { BatchEventHandler, EventHandler, HandlerConcurrency, Handling } from './batching.js';
export type { ConsumerLogger } from './settlement.js';

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

/**
 * How long events a handler handed back (`UnitOfWork.defer`) wait before they join a batch again:
 * about one transaction of the replica that holds their work.
 */
const DEFERRED_WAIT_MS = 20;

/** A transaction's outcome: committed, or failed with the event to blame. */
type Outcome = ({ ok: true } & Committed) | { ok: false; item: Item; error: unknown };

/**
 * One durable pull consumer: a subject filter handled by one handler, shared by every replica of
 * the service. Messages are buffered as they arrive (`Lanes`), admitted (`admission.ts`) and
 * handled in batches, one PostgreSQL transaction per batch (`transaction.ts`: inbox claims, the
 * handlers' state changes as `batching.ts` runs them, outbox rows), then settled
 * (`settlement.ts`: acks, retries, dead letters). When a handler fails inside a batch, the batch
 * is rolled back and its messages are retried one transaction each, so one bad message never
 * holds back the rest.
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
  private readonly settlement: Settlement;
  private stopped = false;
  /** Timers of the events handed back, to return them to the lanes. */
  private readonly deferredTimers = new Set<NodeJS.Timeout>();
  /** When each message held back was first handed back. */
  private readonly deferredSince = new WeakMap<JsMsg, number>();
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
    this.settlement = new Settlement(this.durable, deps);
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
    const streamInfo = () => this.deps.jsm.streams.info(this.stream);
    this.pendingTimer = setInterval(() => void reportPending(this.durable, this.consumer, streamInfo, this.held(), this.deps.metrics), 5_000);
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
    for (const timer of this.deferredTimers) clearTimeout(timer);
    this.deferredTimers.clear();
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

  /** Every message held: buffered, or in a batch being handled. */
  private *held(): Generator<Received> {
    yield* this.lanes.items();
    for (const batch of this.inHand) yield* batch;
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
      const admitted = admit(received, this.durable, this.deps.options);
      if (admitted === NEWER_TYPE) this.settlement.newerType(received);
      else if ('event' in admitted) items.push(admitted);
      else await this.settlement.reject(received, admitted);
    }
    return items;
  }

  private async handleItems(items: Item[]): Promise<void> {
    if (items.length === 0) return;
    const started = performance.now();
    // Handed back, in batch order: held together once the batch is settled (one hold per subject).
    const deferred: Item[] = [];
    const outcome = await this.handleInTransaction(items);
    if (outcome.ok) {
      await this.settlement.committed(items, outcome);
      deferred.push(...outcome.deferred);
    } else if (items.length === 1) {
      await this.settlement.failed(outcome.item, outcome.error);
    } else {
      // Isolate the failure: each message on its own. What failed the batch is said once; each
      // event's own failure, if any, is settled (retried, dead-lettered) with its reason below.
      this.deps.logger.warn('batch failed; handling its events one at a time', { consumer: this.durable, events: items.length, error: describeError(outcome.error) });
      const heldSubjects = new Set<string>();
      for (const item of items) {
        // Behind an event of its subject handed back, an event goes back too, unhandled.
        if (heldSubjects.has(item.key)) {
          deferred.push(item);
          this.settlement.handedBack(1);
          continue;
        }
        const single = await this.handleInTransaction([item]);
        if (single.ok) {
          await this.settlement.committed([item], single);
          deferred.push(...single.deferred);
          for (const back of single.deferred) heldSubjects.add(back.key);
        } else await this.settlement.failed(item, single.error);
      }
    }
    this.holdBack(deferred);
    observeBatch(this.deps.metrics, this.durable, started, items.length);
  }

  /**
   * Events handed back: kept aside (their ack deadlines extended with the buffer's), then put back
   * ahead of the waiting ones, to be admitted and claimed again. One handed back for longer than
   * the handler's bound goes back to the stream instead, spending a delivery, so that an event
   * another replica's work holds for good is retried and, in the end, dead-lettered like any
   * other failure rather than held unseen.
   */
  private holdBack(items: readonly Item[]): void {
    if (items.length === 0) return;
    if (this.stopped) {
      // Stopping: back to the stream at once, as the buffered ones are.
      for (const { message } of items) message.nak();
      return;
    }
    const now = performance.now();
    const kept: Item[] = [];
    for (const item of items) {
      const since = this.deferredSince.get(item.message) ?? now;
      this.deferredSince.set(item.message, since);
      if (now - since <= this.deps.options.handlerTimeoutMs) kept.push(item);
      else {
        this.settlement
          .failed(item, new Error(`handed back by its handler for over ${this.deps.options.handlerTimeoutMs} ms`))
          .catch((error: unknown) => this.deps.logger.error('could not settle an event held back too long', { consumer: this.durable, eventId: item.event.id, error: describeError(error) }));
      }
    }
    if (kept.length === 0) return;
    const held = this.lanes.hold(kept.map(({ message, headers, key, natsSubject }) => ({ item: { message, headers, key, natsSubject }, key })));
    for (const { message } of kept) message.working();
    const timer = setTimeout(() => {
      this.deferredTimers.delete(timer);
      this.lanes.release(held);
      this.startBatches();
    }, DEFERRED_WAIT_MS);
    this.deferredTimers.add(timer);
  }

  private async handleInTransaction(items: Item[]): Promise<Outcome> {
    const { dataSource, unitOfWork, options } = this.deps;
    const transaction = await ConsumerTransaction.begin(dataSource);
    try {
      // Sorted: lanes claiming overlapping ids lock them in the same order, so they cannot deadlock.
      const first = new Map<string, Item>();
      for (const item of items) if (!first.has(item.event.id)) first.set(item.event.id, item);
      const entries = [...first.values()].map((item) => ({ id: item.event.id, digest: item.digest })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const claim = await transaction.claim(this.durable, entries);
      const fresh = items.filter((item) => claim.fresh.delete(item.event.id));
      const conflicts = findConflicts(items, new Set(fresh), first, claim.seen);
      // A stuck handler must not hold the slot: past the bound, its connection is dropped and the
      // batch fails on its first event, to be retried event by event, each under the same bound.
      const handedBack = new Set<string>();
      const outbox =
        fresh.length === 0
          ? []
          : await withinBound(
              options.handlerTimeoutMs,
              () => runHandlers(this.handling, unitOfWork, dataSource, transaction, fresh, handedBack),
              (timeout) => transaction.drop(timeout),
              (timeout) => new HandlerFailed(fresh[0]!, timeout),
            );
      const deferred = fresh.filter((item) => handedBack.has(item.event.id));
      const commit = async () => {
        // `fresh` holds each id once.
        if (deferred.length > 0) await transaction.unclaim(this.durable, deferred.map((item) => item.event.id));
        await transaction.commit(outbox);
      };
      await commit().catch((error: unknown) => {
        // A handler caught a database error and went on: the batch's work is not done.
        throw error instanceof AbortedByCaughtError && fresh.length > 0 ? new HandlerFailed(fresh[0]!, error) : error;
      });
      if (outbox.length > 0) unitOfWork.notifyCommitted(outbox);
      await this.deps.faults?.afterCommit?.();
      return { ok: true, duplicates: items.length - fresh.length - conflicts.length, conflicts, deferred };
    } catch (error) {
      if (error instanceof HandlerFailed) return { ok: false, item: error.item, error: error.cause };
      // A data or constraint error at commit time is some message's fault, not an outage:
      // isolate the messages one by one to find it.
      if (isDataError(error)) return { ok: false, item: items[0]!, error };
      throw error;
    } finally {
      await transaction.end();
    }
  }
}

/**
 * Deliveries that reuse an id with another payload: unlike the event first claimed under the id
 * (before, or earlier in this batch). Never handled, never taken as duplicates.
 */
function findConflicts(items: readonly Item[], handled: ReadonlySet<Item>, first: ReadonlyMap<string, Item>, seen: ReadonlyMap<string, string | null>): Conflict[] {
  const conflicts: Conflict[] = [];
  for (const item of items) {
    if (handled.has(item)) continue;
    const id = item.event.id;
    const claimed = seen.has(id) ? seen.get(id) : first.get(id)!.digest;
    if (claimed !== null && claimed !== undefined && claimed !== item.digest) conflicts.push({ item, claimed });
  }
  return conflicts;
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation). */
function isDataError(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'));
}
