import type { Readable, Writable } from 'node:stream';

/**
 * How many bytes a body may have waiting in its writer before its reader pauses. The writers'
 * own high-water mark (16 KiB) is one TLS record: `pipe()` would pause the reader after every
 * record and wait a turn of the event loop for it to drain, so every record went out as a write
 * (an HTTP/2 frame, a TLS record, a syscall) of its own. A large body goes through in cycles of
 * "fill the budget, pause, wait for the writer to drain, resume", each with its own socket
 * writes, read stops and restarts: with 1 MiB rather than 256 KiB, the agent writes about 2
 * times per MiB instead of 8 and the agent and the broker's front each spend a fifth less CPU
 * per MiB (tunnel benchmark, side by side). Per stream, it is what a slow reader can hold here
 * beyond its HTTP/2 window.
 */
export const RELAY_BUDGET = 1024 * 1024;

/** How long a caller may leave an answer's bytes waiting before the broker gives up on it. */
export const STALLED_READER_TIMEOUT_MS = 60_000;

export interface RelayOptions {
  /** Sees each chunk (byte counts). */
  onChunk?: (chunk: Buffer) => void;
  /** Bytes waiting in `to` before `from` pauses (`RELAY_BUDGET`). */
  budget?: number;
  /**
   * How long `to` may drain nothing while `from` waits for it before `to` is destroyed with a
   * `StalledReaderError`, as a proxy's send timeout (looked at every `stalledAfterMs`, so it is
   * cut between one and two of them after its last byte went): what a stalled reader holds (the
   * budget here, a full HTTP/2 window behind it) is then let go. Never cut if absent.
   */
  stalledAfterMs?: number;
}

/** A writer drained nothing for `stalledAfterMs`: its reader stopped reading. */
export class StalledReaderError extends Error {
  override readonly name = 'StalledReaderError';
  constructor(ms: number) {
    super(`the reader took nothing for ${ms} ms with data waiting, and was cut`);
  }
}

/**
 * Streams a body from `from` into `to` and ends `to` when `from` ends, as `pipe()` does, but:
 * what arrives in one turn of the event loop (the records of one socket read) is written in one
 * go (`to` corked until the turn's I/O is done: one writev, one HTTP/2 send, fewer syscalls),
 * and `from` pauses only once `budget` bytes wait in `to`. Backpressure holds all the same: a
 * writer that drains nothing (a caller who stopped reading) stops its reader after `budget`, and
 * is cut after `stalledAfterMs`. Stops reading when `to` closes.
 */
export function relay(from: Readable, to: Writable, { onChunk, budget = RELAY_BUDGET, stalledAfterMs }: RelayOptions = {}): void {
  let corked = false;
  let waiting = false;
  let stallTimer: NodeJS.Timeout | undefined;
  const uncork = () => {
    corked = false;
    to.uncork();
  };
  const resume = () => {
    waiting = false;
    clearTimeout(stallTimer);
    from.resume();
  };
  // Looks every `ms` while paused: a writer that let some bytes go since is slow, not stalled.
  const watchForStall = (ms: number) => {
    const waitingBytes = to.writableLength;
    stallTimer = setTimeout(() => {
      if (to.writableLength < waitingBytes) watchForStall(ms);
      else to.destroy(new StalledReaderError(ms));
    }, ms);
  };
  const onData = (chunk: Buffer) => {
    onChunk?.(chunk);
    if (!corked && !to.writableEnded) {
      corked = true;
      to.cork();
      setImmediate(uncork);
    }
    if (!to.write(chunk) && !waiting && to.writableLength >= budget) {
      waiting = true;
      from.pause();
      to.once('drain', resume);
      if (stalledAfterMs !== undefined) watchForStall(stalledAfterMs);
    }
  };
  const onEnd = () => to.end();
  from.on('data', onData);
  from.once('end', onEnd);
  to.once('close', () => {
    clearTimeout(stallTimer);
    from.off('data', onData).off('end', onEnd);
    to.off('drain', resume);
    from.pause();
  });
}
