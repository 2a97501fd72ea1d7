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

/** One sentence per code, for logs and operators. */
export function describeSecretsError(code: SecretsErrorCode): string {
  switch (code) {
    case 'invalid-key-ring':
      return 'SECRETS_KEYS is missing or malformed';
    case 'unknown-kek':
      return 'the secret was wrapped by a key-encryption key that is no longer configured in SECRETS_KEYS';
    case 'unwrap-failed':
      return 'the data key did not unwrap: the wrapped key was altered or the configured key under that id is not the one that wrapped it';
    case 'decrypt-failed':
      return 'the ciphertext did not authenticate: it was altered, or it belongs to another secret';
    case 'malformed':
      return 'the sealed secret is not in a format this library writes';
    case 'invalid-input':
      return 'the reference, kind or metadata given to the store is not valid';
  }
}
