/** Why a secret could not be opened or a key ring not read. Messages never carry key material or plaintext. */
export type SecretsErrorCode =
  /** SECRETS_KEYS is missing or malformed. */
  | 'invalid-key-ring'
  /** The secret was wrapped by a KEK that is not in the ring (dropped before rewrap finished). */
  | 'unknown-kek'
  /** The wrapped data key did not authenticate under its KEK: altered, or another key with the same id. */
  | 'unwrap-failed'
  /** Ciphertext, tag or context do not authenticate: altered, or opened under another context (row). */
  | 'decrypt-failed'
  /** The sealed form itself is not one this library writes (sizes, version). */
  | 'malformed'
  /** A reference, kind or metadata the store does not accept (a programming error of the caller). */
  | 'invalid-input';

export class SecretsError extends Error {
  override readonly name = 'SecretsError';
  constructor(
    readonly code: SecretsErrorCode,
    message: string,
  ) {
    super(message);
  }
}
