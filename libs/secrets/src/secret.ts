import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

/**
 * A value that never leaks by accident: String(), template literals, JSON.stringify and
 * util.inspect (so loggers and console.log) all give '[redacted]'. Only `reveal()` and
 * `revealString()` give the value, so every place that uses it is easy to find.
 */
export class Secret {
  // A private field: not an own enumerable property, so no serialiser walks into it.
  readonly #value: Buffer;

  constructor(value: string | Buffer) {
    this.#value = Buffer.from(value);
  }

  /** A copy of the value: the caller may wipe it when done. */
  reveal(): Buffer {
    return Buffer.from(this.#value);
  }

  revealString(): string {
    return this.#value.toString('utf8');
  }

  get length(): number {
    return this.#value.length;
  }

  /** Constant-time comparison. */
  equals(other: Secret | string | Buffer): boolean {
    const theirs = other instanceof Secret ? other.#value : Buffer.from(other);
    return theirs.length === this.#value.length && timingSafeEqual(theirs, this.#value);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
