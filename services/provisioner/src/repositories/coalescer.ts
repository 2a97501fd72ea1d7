import { AsyncResource } from 'node:async_hooks';

/**
 * Calls answered in batches. The reconciler drives a round's machines at once; a cloud in a
 * table answering each of them with its own statement spends its time in round trips to
 * PostgreSQL, which a real cloud's API never costs the provisioner. The calls of one turn of the
 * event loop go in one batch, and while a batch is in flight the calls that come meanwhile wait
 * for it and then go together in the next: one batch at a time, as large as the callers make it.
 * A batch that fails fails each of its calls (the reconciler retries them). A batch runs in the
 * context the coalescer was made in, never in one caller's (whose transaction it is not).
 */
export class Coalescer<K, V> {
  private pending: { key: K; resolve: (value: V) => void; reject: (error: unknown) => void }[] = [];
  private inFlight = false;
  private scheduled = false;
  private readonly flushNow = AsyncResource.bind(() => {
    this.scheduled = false;
    this.flush();
  });

  /** `batch` answers every key, in the order given. */
  constructor(private readonly batch: (keys: K[]) => Promise<V[]>) {}

  load(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.pending.push({ key, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight || this.scheduled || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(this.flushNow);
  }

  private flush(): void {
    const calls = this.pending;
    this.pending = [];
    this.inFlight = true;
    void this.batch(calls.map((call) => call.key))
      .then(
        (values) => calls.forEach((call, index) => call.resolve(values[index]!)),
        (error: unknown) => calls.forEach((call) => call.reject(error)),
      )
      .finally(() => {
        this.inFlight = false;
        this.schedule();
      });
  }
}
