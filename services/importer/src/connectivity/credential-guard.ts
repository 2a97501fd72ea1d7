import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { caFingerprints, checkBinding, type BindingCode, type CredentialBinding } from '../credentials/binding.js';

/** A credential was about to go somewhere it is not bound to: nothing was sent. */
export class CredentialBindingError extends Error {
  override readonly name = 'CredentialBindingError';

  constructor(
    readonly code: BindingCode,
    message: string,
  ) {
    super(message);
  }
}

/** The endpoint fields the guard reads (`ClusterEndpoint`). */
export interface GuardedEndpoint {
  apiServer: string;
  caCertificatePem: string | null;
  boundTo: CredentialBinding;
  credentialRef: string;
}

/**
 * Throws unless the endpoint's address and CA are the ones its credential is bound to. Called
 * where the Kubernetes client is built, before the secret is revealed: whichever path produced
 * the endpoint (import, re-check, cloud), a token never goes to an address of the caller's choosing.
 */
export function assertBound(endpoint: GuardedEndpoint): void {
  const check = checkBinding(endpoint.credentialRef, endpoint.boundTo, { apiServer: endpoint.apiServer, caFingerprints: caFingerprints(endpoint.caCertificatePem) });
  if (!check.ok) throw new CredentialBindingError(check.code, check.message);
}

/** The first CredentialBindingError in an error's `cause` chain (clients wrap what an agent throws). */
export function bindingErrorIn(error: unknown): CredentialBindingError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    if (current instanceof CredentialBindingError) return current;
  }
  return undefined;
}

/**
 * The agent carrying a check's calls (with the credential's TLS settings): it opens connections
 * to the bound host and port only, so a redirect (node-fetch keeps the Authorization header for
 * another port of the same host) or any later call cannot take the credential elsewhere.
 */
export class BoundAgent extends Agent {
  private readonly host: string;
  private readonly port: string;

  constructor(
    private readonly binding: CredentialBinding,
    private readonly credentialRef: string,
    options: AgentOptions,
  ) {
    super(options);
    const url = new URL(binding.apiServer);
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = url.port || '443';
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const host = String(options.host ?? options.hostname ?? '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
    const port = String(options.port ?? '443');
    if (host !== this.host || port !== this.port || options.socketPath !== undefined) {
      const target = options.socketPath ?? `${host}:${port}`;
      throw new CredentialBindingError('credential-server-mismatch', `credential "${this.credentialRef}" is bound to ${this.binding.apiServer}: no connection to ${target} is made with it`);
    }
    return super.createConnection(options, callback);
  }
}
