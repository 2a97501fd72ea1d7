import type { ProbeFailure } from './cluster-probe.js';

/** What the probe was doing when it failed, for messages. */
export type ProbeStep = 'read the version' | 'list nodes' | 'read /readyz' | 'read /healthz';

/** What is known of an error thrown by the Kubernetes client or Node's TLS/network stack. */
export interface ErrorFacts {
  /** HTTP status of an answer (ApiException), when there was one. */
  status?: number;
  /** Node's error code (`ECONNREFUSED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`...), when there is one. */
  code?: string;
  /** `AbortError` when the signal aborted the request. */
  name?: string;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused (nothing listens there)',
  ENOTFOUND: 'the host name does not resolve (DNS)',
  EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
  EHOSTUNREACH: 'there is no route to the host',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'the connection timed out',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed while sending',
  ECONNABORTED: 'the connection was aborted',
};

/**
 * The reason a step of the check failed, named so an operator knows what to fix: the address,
 * the CA, the token, the rights, or the thing at the address. Messages never carry the credential.
 */
export function probeFailureOf(facts: ErrorFacts, step: ProbeStep, apiServer: string, credentialRef: string): ProbeFailure {
  const host = hostOf(apiServer);
  if (facts.name === 'AbortError') return { code: 'probe-timeout', message: `${host} did not answer in time (while trying to ${step})` };
  if (facts.status !== undefined) return statusFailure(facts.status, step, apiServer, host, credentialRef);
  const code = facts.code ?? '';
  if (TLS_CODES.has(code)) {
    const why = code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? 'is not issued for that host name' : code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not signed by the CA stored with the credential';
    return { code: 'tls-verification-failed', message: `the certificate of ${host} ${why} (${code}); check the CA of credential "${credentialRef}"` };
  }
  if (/^ERR_SSL_.*(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN)/.test(code)) {
    return { code: 'unauthorized', message: `${host} refused the client certificate of credential "${credentialRef}" during the TLS handshake (${code})` };
  }
  if (NETWORK[code]) return { code: 'api-server-unreachable', message: `cannot reach ${host}: ${NETWORK[code]} (${code})` };
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return { code: 'tls-verification-failed', message: `the TLS handshake with ${host} failed (${code})` };
  return { code: 'api-server-unreachable', message: `cannot reach ${host} (${code || 'no error code'})` };
}

/**
 * A failure of a check through the tunnel broker's proxy that is the tunnel's or the broker's,
 * not the cluster's: the broker refused the importer's own token (401: a cluster's API server
 * never sees it), could not carry the request to the agent (502, 503, 504), or could not be
 * reached at all. Undefined for the rest, which are the cluster's answers (probeFailureOf).
 */
export function tunnelFailureOf(facts: ErrorFacts, step: ProbeStep, apiServer: string): ProbeFailure | undefined {
  const broker = hostOf(apiServer);
  if (facts.name === 'AbortError') return undefined;
  if (facts.status === 401) return { code: 'tunnel-unavailable', message: `the tunnel broker at ${broker} refused the importer's own token (401) when asked to ${step}` };
  if (facts.status === 502 || facts.status === 503 || facts.status === 504) {
    return { code: 'tunnel-down', message: `the tunnel broker at ${broker} answered ${facts.status} when asked to ${step}: the cluster's agent or its API server did not answer through the tunnel` };
  }
  if (facts.status !== undefined) return undefined;
  const code = facts.code ?? '';
  const why = NETWORK[code] ?? (TLS_CODES.has(code) ? `its certificate is not verified by TUNNEL_BROKER_CA_FILE or the system roots (${code})` : code || 'no error code');
  return { code: 'tunnel-unavailable', message: `cannot reach the tunnel broker at ${broker}: ${why}` };
}

function statusFailure(status: number, step: ProbeStep, apiServer: string, host: string, credentialRef: string): ProbeFailure {
  if (status === 401) return { code: 'unauthorized', message: `${host} answered 401 Unauthorized to credential "${credentialRef}": the token or certificate is wrong, expired or revoked` };
  if (status === 403) return { code: 'forbidden', message: `credential "${credentialRef}" may not ${step} on ${host} (403 Forbidden): importing needs cluster-admin rights` };
  if (status === 404 && step === 'read the version') return { code: 'not-kubernetes', message: `${apiServer}/version answered 404: that address does not serve a Kubernetes API` };
  return { code: 'api-server-error', message: `${host} answered ${status} when asked to ${step}` };
}

function hostOf(apiServer: string): string {
  try {
    return new URL(apiServer).host;
  } catch {
    return apiServer;
  }
}

/** The facts of anything thrown: the client's ApiException (`code` is the HTTP status), node-fetch's FetchError, Node's errors. */
export function errorFacts(error: unknown): ErrorFacts {
  if (typeof error !== 'object' || error === null) return {};
  const { code, name, cause } = error as { code?: unknown; name?: unknown; cause?: unknown };
  if (name === 'AbortError') return { name };
  if (typeof code === 'number') return { status: code };
  if (typeof code === 'string') return { code };
  return cause === undefined ? {} : errorFacts(cause);
}
