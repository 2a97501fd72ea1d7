import type { Secret } from '@flotilla/secrets';
import type { CredentialBinding } from './binding.js';

/** How a stored credential authenticates: a token or client certificate for the API server, or a cloud account. */
export const CREDENTIAL_KINDS = ['bearer-token', 'client-certificate', 'cloud-account'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** How it was given to the importer: a kubeconfig is stored as the token or certificate it holds. */
export const CREDENTIAL_SOURCES = ['token', 'client-certificate', 'kubeconfig', 'cloud-account'] as const;
export type CredentialSource = (typeof CREDENTIAL_SOURCES)[number];

export const CLOUD_ACCOUNT_PROVIDERS = ['eks', 'aks', 'gke'] as const;
export type CloudAccountProvider = (typeof CLOUD_ACCOUNT_PROVIDERS)[number];

/** What the importer may know about a credential without opening it. */
export interface StoredCredential {
  ref: string;
  kind: CredentialKind;
  /** A token's `exp` or a client certificate's notAfter: the cluster becomes unreachable then. */
  expiresAt: string | null;
  /**
   * Tokens and client certificates: the API server (and CA) they are bound to. Null for cloud
   * accounts, and for a credential registered before credentials named their server (used nowhere).
   */
  binding: CredentialBinding | null;
}

/** Plain-text facts about a credential, shown by the API: never any part of the secret. */
export interface CredentialMetadata {
  /** The server of the kubeconfig context it came from. */
  apiServer?: string;
  /** The kubeconfig context it came from. */
  context?: string;
  /** The client certificate's subject (user and groups, e.g. `CN=admin, O=system:masters`). */
  subject?: string;
  /** Cloud accounts: which provider's. */
  provider?: CloudAccountProvider;
  /** Whether a CA certificate to verify the API server is stored with it (else the system roots are used). */
  caCertificate?: 'stored' | 'system-roots';
  /** Tokens and client certificates: what they are bound to (shown as the description's `binding`). */
  binding?: CredentialBinding;
}

export interface CredentialDescription extends StoredCredential {
  source: CredentialSource;
  metadata: Omit<CredentialMetadata, 'binding'>;
  createdAt: string;
}

/**
 * The opened secret of a credential: lives in memory only while a check uses it. A token's or
 * certificate's `binding` is read from the sealed document, not from the plain-text row.
 */
export type CredentialMaterial =
  | { kind: 'bearer-token'; token: Secret; caCertificatePem: string | null; binding: CredentialBinding | null }
  | { kind: 'client-certificate'; certificatePem: string; privateKey: Secret; caCertificatePem: string | null; binding: CredentialBinding | null }
  | { kind: 'cloud-account'; provider: CloudAccountProvider; account: Secret };

/** Where credentials named by `credentialRef` live. Joins the caller's transaction when there is one. */
export interface CredentialStore {
  find(ref: string): Promise<StoredCredential | undefined>;
  /** Opens the secret; undefined when the credential is gone (deleted since the request). */
  open(ref: string): Promise<CredentialMaterial | undefined>;
  /** Removes the credential and its secret together; false when there was none. */
  delete(ref: string): Promise<boolean>;
}

/** Injection token of the CredentialStore implementation. */
export const CREDENTIAL_STORE = Symbol('CredentialStore');
