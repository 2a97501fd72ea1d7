import type { Duplex } from 'node:stream';

/**
 * Holds a PostgreSQL connection's writes until the end of the event-loop turn, so that what is
 * issued in one turn leaves in one write: the five protocol messages of a parameterised statement,
 * and, on a pipelined connection (node-postgres' `pipeline` client option), every statement that
 * handlers running side by side issue together. A write to a socket is a system call, the dearest
 * part of a short statement here.
 *
 * The socket is held from the moment data arrives (before node-postgres reads it, so the statements
 * its answers release are held too) and whenever `hold()` is called, and let go once the turn's
 * promise continuations have run. It changes when bytes leave, never what leaves or in what order.
 */
export class TurnWrites {
  private held = false;

  constructor(private readonly socket: Duplex) {
    socket.prependListener('data', this.hold);
  }

  /** Holds writes until the end of this turn. */
  readonly hold = (): void => {
    if (this.held) return;
    this.held = true;
    this.socket.cork();
    // After every promise continuation of this turn: their statements join this write.
    setImmediate(this.flush);
  };

  /** Stops holding writes (the connection goes back to its pool). */
  close(): void {
    this.socket.off('data', this.hold);
    this.flush();
  }

  private readonly flush = (): void => {
    if (!this.held) return;
    this.held = false;
    this.socket.uncork();
  };
}
