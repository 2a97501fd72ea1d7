import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A secret value that never shows itself by accident: string conversion, JSON and
 * util.inspect (so loggers and error messages) all print `[redacted]`. Only `reveal()` and
 * `revealString()` give the value, where it is put to use.
 *
 * Same shape as `Secret` of `@flotilla/secrets`; this one stands in until that library ships it.
 */
export class Secret {
  readonly #value: Buffer;

  private constructor(value: Buffer) {
    this.#value = value;
  }

  static fromString(value: string): Secret {
    return new Secret(Buffer.from(value, 'utf8'));
  }

  static fromBytes(value: Uint8Array): Secret {
    return new Secret(Buffer.from(value));
  }

  /** A copy of the bytes: the caller may wipe it when done. */
  reveal(): Buffer {
    return Buffer.from(this.#value);
  }

  revealString(): string {
    return this.#value.toString('utf8');
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** What the cloud code needs of a secret: `Secret` here and `Secret` of `@flotilla/secrets` both fit. */
export interface RevealableSecret {
  revealString(): string;
}
