/** How a stored credential authenticates: a token or client certificate for the API server, or a cloud account. */
export const CREDENTIAL_KINDS = ['bearer-token', 'client-certificate', 'cloud-account'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/**
 * What the importer may know about a credential without opening it. The secret itself is not
 * part of this interface yet: storing it encrypted and opening it for the probe arrive with
 * credential registration, as an `open(ref)` beside `find`.
 */
export interface StoredCredential {
  ref: string;
  kind: CredentialKind;
  /** Service-account tokens can carry an expiry: the cluster becomes unreachable then. */
  expiresAt: string | null;
}

/** Where credentials named by `credentialRef` live. */
export interface CredentialStore {
  find(ref: string): Promise<StoredCredential | undefined>;
}

/** Injection token of the CredentialStore implementation. */
export const CREDENTIAL_STORE = Symbol('CredentialStore');
