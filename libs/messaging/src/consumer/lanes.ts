import { CE_HEADER_PREFIX } from '@flotilla/contracts';
import type { MsgHdrs } from '@nats-io/transport-node';

const SUBJECT_HEADER = `${CE_HEADER_PREFIX}subject`;

/** A message's headers, read once, first value of each, names in lower case (they are case-insensitive). */
export function headerRecord(message: { headers?: MsgHdrs | undefined }): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, values] of message.headers ?? []) if (values[0] !== undefined) headers[key.toLowerCase()] ??= values[0];
  return headers;
}

/** What orders a message among others: its CloudEvents subject (the cluster id), '' if absent. */
export function orderingKey(headers: Record<string, string>): string {
  return headers[SUBJECT_HEADER] ?? '';
}

/** A batch handed out by `Lanes.next()`, to give back with `Lanes.done()` once settled. */
export interface LaneBatch<T> {
  items: T[];
  keys: ReadonlySet<string>;
}

/**
 * Forms the batches of one consumer and decides how many run at once (up to `lanes`).
 * - One batch runs whenever messages wait; another starts beside it only when a full batch
 *   waits: under light load messages gather while a transaction runs (fewer, larger
 *   transactions), under a backlog up to `lanes` transactions overlap.
 * - Messages with one ordering key (subject) are never in two running batches, and stay in
 *   arrival order: events about one cluster are handled one after the other, in stream order.
 */
export class Lanes<T> {
  private waiting: { item: T; key: string }[] = [];
  private readonly busyKeys = new Set<string>();
  /** Items handed back by their batch (`hold`), waiting to return; their keys wait with them. */
  private readonly holding = new Set<LaneHold<T>>();
  private readonly heldKeys = new Map<string, number>();
  private running = 0;
  /** After a scan found too few free messages for a full batch: at least how many more it takes. */
  private shortBy = 0;

  constructor(
    private readonly batchSize: number,
    private readonly lanes: number,
  ) {}

  get size(): number {
    return this.waiting.length;
  }

  get inFlight(): number {
    return this.running;
  }

  push(item: T, key: string): void {
    this.waiting.push({ item, key });
    if (this.shortBy > 0) this.shortBy -= 1;
  }

  /** The next batch to start now, if the rules above allow one. */
  next(): LaneBatch<T> | undefined {
    if (this.waiting.length === 0 || this.running >= this.lanes) return undefined;
    // Beside a running batch, only a full one is worth its own transaction.
    if (this.running > 0 && (this.waiting.length < this.batchSize || this.shortBy > 0)) return undefined;
    const items: T[] = [];
    const keys = new Set<string>();
    const kept: { item: T; key: string }[] = [];
    const keptKeys = new Set<string>();
    let scanned = 0;
    // Scanned only until the batch is full: the rest stays as it is.
    for (; scanned < this.waiting.length && items.length < this.batchSize; scanned++) {
      const entry = this.waiting[scanned]!;
      // A key whose earlier message stays behind must stay behind too, or order would break.
      if (!this.busyKeys.has(entry.key) && !this.heldKeys.has(entry.key) && !keptKeys.has(entry.key)) {
        items.push(entry.item);
        keys.add(entry.key);
      } else {
        kept.push(entry);
        keptKeys.add(entry.key);
      }
    }
    if (items.length === 0 || (this.running > 0 && items.length < this.batchSize)) {
      // Saves rescanning a long queue of busy subjects on every arrival.
      this.shortBy = this.running > 0 ? this.batchSize - items.length : 0;
      return undefined;
    }
    this.waiting = scanned === this.waiting.length ? kept : kept.concat(this.waiting.slice(scanned));
    for (const key of keys) this.busyKeys.add(key);
    this.running += 1;
    return { items, keys };
  }

  done(batch: LaneBatch<T>): void {
    for (const key of batch.keys) this.busyKeys.delete(key);
    this.running -= 1;
    this.shortBy = 0;
  }

  /**
   * Keeps items a batch handed back unhandled aside until `release`: no batch takes them, nor any
   * later item of their keys, so their keys' order holds.
   */
  hold(entries: readonly { item: T; key: string }[]): LaneHold<T> {
    const held: LaneHold<T> = { entries: [...entries] };
    this.holding.add(held);
    for (const { key } of entries) this.heldKeys.set(key, (this.heldKeys.get(key) ?? 0) + 1);
    return held;
  }

  /** Puts held items back ahead of every waiting one, in their order. */
  release(held: LaneHold<T>): void {
    if (!this.holding.delete(held)) return;
    for (const { key } of held.entries) {
      const left = (this.heldKeys.get(key) ?? 1) - 1;
      if (left > 0) this.heldKeys.set(key, left);
      else this.heldKeys.delete(key);
    }
    this.waiting = [...held.entries, ...this.waiting];
    this.shortBy = 0;
  }

  /** Every item not in a running batch: held ones, then waiting ones in arrival order. */
  *items(): Iterable<T> {
    for (const held of this.holding) for (const entry of held.entries) yield entry.item;
    for (const entry of this.waiting) yield entry.item;
  }

  /** Removes and returns every item not in a running batch, held ones too (to hand them back on shutdown). */
  takeAll(): T[] {
    const taken = [...this.items()];
    this.holding.clear();
    this.heldKeys.clear();
    this.waiting = [];
    return taken;
  }
}

/** Items `Lanes.hold` keeps aside. */
export interface LaneHold<T> {
  readonly entries: readonly { item: T; key: string }[];
}

/**
 * Caps the transactions all consumers of a process run at once, so that lanes of many consumers
 * never take every pooled connection (the relay and HTTP requests need some too).
 */
export class TransactionSlots {
  private inUse = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`maxConcurrentBatches must be a positive integer, not ${size}`);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.inUse < this.size) this.inUse += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.inUse -= 1;
    }
  }
}
