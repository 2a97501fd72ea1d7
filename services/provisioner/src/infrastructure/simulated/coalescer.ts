/**
 * Calls made in the same turn of the event loop, answered by one batch. The reconciler drives a
 * round's machines at once; a cloud in a table answering each of them with its own statement
 * spends its time in round trips to PostgreSQL, which a real cloud's API never costs the
 * provisioner. A batch that fails fails each of its calls (the reconciler retries them).
 */
export class Coalescer<K, V> {
  private pending: { key: K; resolve: (value: V) => void; reject: (error: unknown) => void }[] = [];

  /** `batch` answers every key, in the order given. */
  constructor(private readonly batch: (keys: K[]) => Promise<V[]>) {}

  load(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.pending.push({ key, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const calls = this.pending;
    this.pending = [];
    this.batch(calls.map((call) => call.key)).then(
      (values) => calls.forEach((call, index) => call.resolve(values[index]!)),
      (error: unknown) => calls.forEach((call) => call.reject(error)),
    );
  }
}
