import { AsyncLocalStorage } from 'node:async_hooks';
import {
  attributeHeaders,
  createEvent,
  DEFAULT_MAX_EVENT_BYTES,
  eventsStreamSettings,
  eventsSubject,
  isService,
  serviceSource,
  type CloudEvent,
  type EventData,
  type EventDefinition,
  type EventOf,
} from '@flotilla/contracts';
import type { PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { BusOptions } from './options.js';
import { commitWithOutbox } from './outbox/commit.js';
import { EventTooLargeError } from './errors.js';
import { outboxRowsParameter, type OutboxRow } from './outbox/outbox-store.js';
import { injectTraceContext } from './tracing.js';

interface Scope {
  manager: EntityManager;
  pending: OutboxRow[];
  /** What a consumer's handler may hand back (`defer`); absent outside a consumer's transaction. */
  handing?: Handing;
}

/** The events a consumer's handler was given (`deferrable`), and the ids of those it hands back. */
export interface Handing {
  deferrable: ReadonlySet<string>;
  deferred: Set<string>;
}

/** An event `writeWithEvents` writes: what `emit` is given. */
export interface EventToEmit<D extends EventDefinition = EventDefinition> {
  definition: D;
  subject: string;
  data: EventData<D>;
  options?: EmitOptions;
}

export interface EmitOptions {
  /** Defaults to a random UUID; pass a deterministic one to make a retried emit idempotent. */
  id?: string;
  time?: Date;
  /** The event this one follows from: its trace continues (batch handlers need this). */
  causedBy?: CloudEvent;
}

/**
 * A Flotilla service emits only what the catalogue lists it as producing: the NATS permissions
 * generated from the catalogue would refuse anything else at publish time, after commit, where
 * the outbox row would be stuck. Other processes (tests, outside tools) are not checked here.
 */
export function assertProducer(service: string, definition: EventDefinition): void {
  if (isService(service) && !(definition.producers as readonly string[]).includes(service)) {
    throw new Error(
      `${service} may not emit ${definition.name}: the event catalogue (libs/contracts) lists its producers as ${definition.producers.join(', ')}. ` +
        `Declare ${service} among them if it should, and regenerate (npm run generate).`,
    );
  }
}

/**
 * The transaction a handler or request runs in. State changes made through `manager` and events
 * passed to `emit` commit together or not at all: emitted events become outbox rows in the same
 * PostgreSQL transaction, and the relay publishes them after commit.
 */
export class UnitOfWork {
  private readonly storage = new AsyncLocalStorage<Scope>();
  private readonly committedListeners: ((rows: readonly OutboxRow[]) => void)[] = [];
  /** The events stream's limit per message (headers included), read once: every emit checks it. */
  private readonly streamLimit: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: Pick<BusOptions, 'service' | 'prefix'> & Partial<Pick<BusOptions, 'maxEventBytes'>>,
  ) {
    this.streamLimit = eventsStreamSettings(options).max_msg_size;
  }

  /** The current transaction's entity manager, or the plain one outside a transaction. */
  get manager(): EntityManager {
    return this.storage.getStore()?.manager ?? this.dataSource.manager;
  }

  get inTransaction(): boolean {
    return this.storage.getStore() !== undefined;
  }

  /** Called after every commit that wrote outbox rows, with those rows (the relay publishes them). */
  onCommitted(listener: (rows: readonly OutboxRow[]) => void): void {
    this.committedListeners.push(listener);
  }

  /**
   * Runs `work` in a transaction; nested calls join the outer one. When `work` caught a database
   * error and went on, PostgreSQL has aborted the transaction and would answer the commit by
   * rolling back, quietly: the outbox insert, run even when nothing was emitted, finds it out
   * before the commit (in the same round trip on a pipelined connection), and it is thrown instead.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.inTransaction) return work();
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    await runner.startTransaction();
    const scope: Scope = { manager: runner.manager, pending: [] };
    try {
      const result = await this.storage.run(scope, work);
      await commitWithOutbox(client, runner, scope.pending);
      if (scope.pending.length > 0) this.notifyCommitted(scope.pending);
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw error;
    } finally {
      await runner.release();
    }
  }

  /**
   * Records an event to publish when the current transaction commits. The trace context active
   * now travels with it, so the trace continues through the relay to every consumer.
   */
  emit<D extends EventDefinition>(definition: D, subject: string, data: EventData<D>, options: EmitOptions = {}): EventOf<D> {
    const scope = this.storage.getStore();
    if (!scope) {
      throw new Error(`emit(${definition.name}) outside a transaction: call it from a handler or inside unitOfWork.run()`);
    }
    const { event, row } = this.outboxRow(definition, subject, data, options);
    scope.pending.push(row);
    return event;
  }

  /**
   * A state change that is one statement anyway, written with its events in that statement and no
   * transaction around it (a statement commits whole or not at all): the transaction's own round
   * trips (begin, the outbox insert, commit) are saved. `events` are made as `emit` makes them;
   * `write` gets their rows as the parameter of `outboxInsertSql` (`outboxRowsParameter`), runs its
   * statement with that insert in it, and says whether it wrote them. When it did, the relay is
   * told, as after a commit. Inside a transaction, the events are emitted into it instead.
   */
  async writeWithEvents(events: readonly EventToEmit[], write: (outboxRows: string) => Promise<boolean>): Promise<boolean> {
    const rows = events.map(({ definition, subject, data, options = {} }) => this.outboxRow(definition, subject, data, options).row);
    const scope = this.storage.getStore();
    if (scope !== undefined) {
      // Inside a transaction they go with it: written at its commit, the relay told after it.
      const wrote = await write(outboxRowsParameter([]));
      if (wrote) scope.pending.push(...rows);
      return wrote;
    }
    const wrote = await write(outboxRowsParameter(rows));
    if (wrote && rows.length > 0) this.notifyCommitted(rows);
    return wrote;
  }

  /** An event and its outbox row: the producer checked, the trace context carried, its size checked. */
  private outboxRow<D extends EventDefinition>(definition: D, subject: string, data: EventData<D>, options: EmitOptions): { event: EventOf<D>; row: OutboxRow } {
    assertProducer(this.options.service, definition);
    const { causedBy, ...meta } = options;
    const event = createEvent(definition, { subject, source: serviceSource(this.options.service), ...meta }, data);
    const { traceparent, tracestate } = causedBy?.traceparent ? causedBy : injectTraceContext();
    if (traceparent) event.traceparent = traceparent;
    if (tracestate) event.tracestate = tracestate;
    const row: OutboxRow = {
      eventId: event.id,
      subject: eventsSubject(this.options, definition.channel),
      // Without Nats-Msg-Id: the relay sets it from the row's event id.
      headers: attributeHeaders(event),
      payload: JSON.stringify(event.data),
    };
    this.assertPublishable(definition, row);
    return { event, row };
  }

  /**
   * A row no publish could clear would sit in the outbox forever (the stream refuses it) or be
   * dead-lettered by every consumer (over their limit): refused here, while the transaction can
   * still fail. Headers count towards the stream's message size.
   */
  private assertPublishable(definition: EventDefinition, row: OutboxRow): void {
    const payloadBytes = Buffer.byteLength(row.payload);
    let headerBytes = 0;
    for (const key in row.headers) headerBytes += Buffer.byteLength(key) + Buffer.byteLength(row.headers[key]!) + 4;
    const consumerLimit = this.options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    if (payloadBytes > consumerLimit) throw new EventTooLargeError(definition.name, payloadBytes, consumerLimit);
    if (payloadBytes + headerBytes > this.streamLimit) throw new EventTooLargeError(definition.name, payloadBytes + headerBytes, this.streamLimit);
  }

  /** For the consumer: runs one handler against a transaction the consumer owns, through `manager`. */
  async withManager<T>(manager: EntityManager, pending: OutboxRow[], work: () => Promise<T>, handing?: Handing): Promise<T> {
    return this.storage.run(handing ? { manager, pending, handing } : { manager, pending }, work);
  }

  /**
   * Hands events of the batch being handled back to their consumer, unhandled: their inbox claims
   * are undone in this transaction, they are not acknowledged, and they come again in a later
   * batch of this replica, with every later event of their subjects behind them. For events whose
   * work another replica holds now (a lock its transaction took, tried without waiting): waiting
   * for it would hold this batch's other events too. The handler must have changed nothing for
   * them (a single-event handler's emitted events are dropped), and every handler of the pattern
   * must leave them alone. Only the events the handler was given can be handed back.
   */
  defer(events: Iterable<{ id: string }>): void {
    const handing = this.storage.getStore()?.handing;
    if (!handing) throw new Error('defer() outside an event handler: only a consumer hands events back');
    const ids = [...events].map((event) => event.id);
    const foreign = ids.find((id) => !handing.deferrable.has(id));
    if (foreign !== undefined) throw new Error(`defer(): event ${foreign} is not one this handler was given`);
    for (const id of ids) handing.deferred.add(id);
  }

  notifyCommitted(rows: readonly OutboxRow[]): void {
    for (const listener of this.committedListeners) listener(rows);
  }

  /**
   * Once the app has stopped handling (Nest calls this after its servers closed): the storage stops
   * following async work. Every enabled AsyncLocalStorage costs every promise of the process a
   * hook call, so an app closed in a long-lived process (tests, benchmarks) must not leave its
   * own enabled. A later `run` enables it again.
   */
  onApplicationShutdown(): void {
    this.storage.disable();
  }
}
