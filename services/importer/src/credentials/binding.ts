import { X509Certificate } from 'node:crypto';

/**
 * The one API server (and CA) a token or client-certificate credential may be presented to: the
 * server named when it was registered, or the server of the kubeconfig context it came from.
 * Nothing else ever receives it, whatever address an import request names.
 */
export interface CredentialBinding {
  /** The API server URL, normalised (`normaliseApiServer`). */
  apiServer: string;
  /** SHA-256 fingerprints of the stored CA certificates (in bundle order); empty: the system roots. */
  caFingerprints: string[];
}

export type BindingCode = 'credential-unbound' | 'credential-server-mismatch' | 'credential-ca-mismatch';

export type BindingCheck = { ok: true; binding: CredentialBinding } | { ok: false; code: BindingCode; field: 'credentialRef' | 'apiServer'; message: string };

export type NormalisedServer = { ok: true; url: string } | { ok: false; problem: string };

/**
 * An API server URL in the one form two spellings of the same address share: `https:`, the host
 * in lower case (IDN as punycode), no `:443`, no trailing slash. The path is kept (proxies serve
 * many clusters under one host, `https://rancher.example/k8s/clusters/c-1`). A trailing dot,
 * percent-encoding or `..` are not folded: two addresses that might differ count as different.
 */
export function normaliseApiServer(text: string): NormalisedServer {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, problem: 'is not a URL' };
  }
  if (url.protocol !== 'https:') return { ok: false, problem: 'must be an https:// URL (the importer only talks to API servers over TLS)' };
  if (url.username !== '' || url.password !== '') return { ok: false, problem: 'must not carry a user name or password' };
  if (url.search !== '' || url.hash !== '') return { ok: false, problem: 'must not carry a query or a fragment' };
  // URL already lower-cases the host and drops the scheme's default port.
  return { ok: true, url: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

/** SHA-256 fingerprints (`AB:CD:...`, as `openssl x509 -fingerprint -sha256` prints them) of a PEM bundle; [] for none. */
export function caFingerprints(pem: string | null): string[] {
  if (pem === null) return [];
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block).fingerprint256);
}

export function bindingOf(apiServer: string, caCertificatePem: string | null): CredentialBinding | undefined {
  const normalised = normaliseApiServer(apiServer);
  return normalised.ok ? { apiServer: normalised.url, caFingerprints: caFingerprints(caCertificatePem) } : undefined;
}

/**
 * May credential `ref`, bound by `binding`, be sent to `apiServer` (verified by the CA with
 * `caFingerprints`, when the caller says)? A credential without a binding (registered before
 * credentials named their server) is sent nowhere.
 */
export function checkBinding(ref: string, binding: CredentialBinding | null, target: { apiServer: string; caFingerprints?: string[] }): BindingCheck {
  if (binding === null) {
    return { ok: false, code: 'credential-unbound', field: 'credentialRef', message: `credential "${ref}" is bound to no API server (it was registered before credentials named their server): register it again with "server"` };
  }
  const normalised = normaliseApiServer(target.apiServer);
  if (!normalised.ok) return { ok: false, code: 'credential-server-mismatch', field: 'apiServer', message: `the API server address ${normalised.problem}; credential "${ref}" is only sent to ${binding.apiServer}` };
  if (normalised.url !== binding.apiServer) {
    return { ok: false, code: 'credential-server-mismatch', field: 'apiServer', message: `credential "${ref}" is bound to ${binding.apiServer} and is never sent to ${normalised.url}` };
  }
  if (target.caFingerprints !== undefined && !sameList(target.caFingerprints, binding.caFingerprints)) {
    return { ok: false, code: 'credential-ca-mismatch', field: 'credentialRef', message: `credential "${ref}" is bound to ${describeCa(binding.caFingerprints)}, not to ${describeCa(target.caFingerprints)}` };
  }
  return { ok: true, binding };
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((value, index) => value === b[index]);
const describeCa = (fingerprints: string[]) => (fingerprints.length === 0 ? 'the system roots' : `the CA ${fingerprints.join(', ')}`);
