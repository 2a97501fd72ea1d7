import type { ClientBase } from 'pg';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { OutboxRow } from '../outbox/outbox-store.js';
import type { Handing, UnitOfWork } from '../unit-of-work.js';
import type { DeliveredEvent, Item } from './admission.js';
import { handlerManager } from './handler-manager.js';
import { inBatchProcessSpan, inProcessSpan } from './observability.js';

export type EventHandler = (delivered: DeliveredEvent) => Promise<void>;
export type BatchEventHandler = (delivered: DeliveredEvent[]) => Promise<void>;

/**
 * How a handler's events of one batch run in its transaction:
 * - `sequential`: one after another (the default; any handler is safe so);
 * - `by-subject`: events about different subjects side by side, each subject's in stream order,
 *   their statements sharing round trips to PostgreSQL. Handlers sharing a transaction do not
 *   isolate each other, so this is for handlers that touch their own subject's rows only: a
 *   read-then-write of a row shared by subjects (a capacity count) could lose an update. A
 *   nested transaction (`manager.transaction`) is refused there and runs when the batch is
 *   retried event by event.
 */
export type HandlerConcurrency = 'sequential' | 'by-subject';

/**
 * A handler takes events one at a time, or, where its logic allows set-based SQL, a whole batch
 * in one call: one statement for a hundred events instead of a hundred statements.
 */
export type Handling = { kind: 'single'; handle: EventHandler; concurrency?: HandlerConcurrency } | { kind: 'batch'; handle: BatchEventHandler };

/** A handler failed on this event (the batch's other events are not to blame). */
export class HandlerFailed extends Error {
  constructor(
    readonly item: Item,
    override readonly cause: unknown,
  ) {
    super(`handler failed on event ${item.event.id}`);
  }
}

/** Whether a batch's events run side by side (`by-subject`, more than one event). */
export function sideBySide(handling: Handling, items: readonly Item[]): boolean {
  return handling.kind === 'single' && handling.concurrency === 'by-subject' && items.length > 1;
}

/**
 * Runs the handler on the batch's new events in the consumer's transaction and returns the
 * events they emitted, in event order. The ids of events handed back (`UnitOfWork.defer`) are
 * added to `deferred`: a subject's events go back from the first one handed back on, so a later
 * event never overtakes an earlier one of its subject (single-event handlers are not run for
 * them; a batch handler that kept one fails the batch, which is then retried event by event). A
 * failure is a `HandlerFailed` naming the event to blame.
 */
export async function runHandlers(
  handling: Handling,
  unitOfWork: UnitOfWork,
  dataSource: DataSource,
  transaction: { runner: QueryRunner; client: ClientBase },
  items: Item[],
  deferred: Set<string>,
): Promise<OutboxRow[]> {
  const outbox: OutboxRow[] = [];
  if (items.length === 0) return outbox;
  // Refused transaction control fails the batch even if a handler caught the refusal.
  let refused: Error | undefined;
  const shared = sideBySide(handling, items);
  const manager = handlerManager(dataSource, transaction.runner, transaction.client, shared, (error) => (refused ??= error));
  const heldSubjects = new Set<string>();
  if (handling.kind === 'batch') {
    const handing: Handing = { deferrable: new Set(items.map((item) => item.event.id)), deferred };
    await inBatchProcessSpan(items, () => unitOfWork.withManager(manager, outbox, () => handling.handle(items), handing)).catch((error: unknown) => {
      throw new HandlerFailed(items[0]!, error);
    });
    if (refused) throw new HandlerFailed(items[0]!, refused);
    for (const item of items) {
      if (deferred.has(item.event.id)) heldSubjects.add(item.key);
      else if (heldSubjects.has(item.key)) throw new HandlerFailed(item, new Error(`the handler handed back an earlier event about ${item.key} and handled this one: a subject's events are handed back from the first one on`));
    }
  } else if (shared) {
    await runBySubject(unitOfWork, manager, items, handling.handle, outbox, deferred, heldSubjects, () => refused);
  } else {
    for (const item of items) {
      if (followsHeld(item, heldSubjects, deferred)) continue;
      await runOne(unitOfWork, manager, item, handling.handle, outbox, deferred, heldSubjects).catch((error: unknown) => {
        throw new HandlerFailed(item, error);
      });
      if (refused) throw new HandlerFailed(item, refused);
    }
  }
  return outbox;
}

/** An event whose subject has an earlier event handed back goes back too, unhandled. */
function followsHeld(item: Item, heldSubjects: ReadonlySet<string>, deferred: Set<string>): boolean {
  if (!heldSubjects.has(item.key)) return false;
  deferred.add(item.event.id);
  return true;
}

/** One event's handler; what it emits joins `outbox` only when it succeeds and kept the event. */
async function runOne(unitOfWork: UnitOfWork, manager: EntityManager, item: Item, handle: EventHandler, outbox: OutboxRow[], deferred: Set<string>, heldSubjects: Set<string>): Promise<void> {
  const pending: OutboxRow[] = [];
  const handing: Handing = { deferrable: new Set([item.event.id]), deferred };
  await inProcessSpan(item, () => unitOfWork.withManager(manager, pending, () => handle(item), handing));
  if (deferred.has(item.event.id)) heldSubjects.add(item.key);
  else outbox.push(...pending);
}

/**
 * Events about different subjects side by side, each subject's in stream order. The first
 * failure fails the batch once every handler has settled, so none is left mid-statement.
 */
async function runBySubject(
  unitOfWork: UnitOfWork,
  manager: EntityManager,
  items: Item[],
  handle: EventHandler,
  outbox: OutboxRow[],
  deferred: Set<string>,
  heldSubjects: Set<string>,
  refused: () => Error | undefined,
): Promise<void> {
  const emitted = new Map<Item, OutboxRow[]>();
  const chains = new Map<string, Promise<void>>();
  let failure: HandlerFailed | undefined;
  for (const item of items) {
    const run = async (): Promise<void> => {
      if (failure || followsHeld(item, heldSubjects, deferred)) return;
      const rows: OutboxRow[] = [];
      try {
        await runOne(unitOfWork, manager, item, handle, rows, deferred, heldSubjects);
        emitted.set(item, rows);
      } catch (error) {
        failure ??= new HandlerFailed(item, error);
      }
    };
    // A subject's first event starts now, each later one when the one before it has settled.
    const before = chains.get(item.key);
    chains.set(item.key, before ? before.then(run) : run());
  }
  await Promise.all(chains.values());
  if (failure) throw failure;
  // Refused even if the handler caught it: its work is not done, so every event runs on its own.
  const refusal = refused();
  if (refusal) throw new HandlerFailed(items[0]!, refusal);
  for (const item of items) outbox.push(...(emitted.get(item) ?? []));
}
