import { createHash, createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 needs the Reflect metadata API loaded before it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { clusterIdOf, clusterUri } from '@flotilla/tunnel';

x509.cryptoProvider.set(webcrypto);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** What the agent dials with: its key (made here, never sent anywhere), its certificate and the tunnel's CA. */
export interface Credential {
  clusterId: string;
  /** PKCS#8 PEM. */
  key: string;
  certificate: string;
  caCertificate: string;
  /** `host:port` of the broker's agent listener. */
  tunnelAddress: string;
  /** sha256 (hex) of the registration token it was enrolled with: a different token later is a new registration. */
  tokenSha256: string | undefined;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function pem(label: string, der: ArrayBuffer): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END ${label}-----\n`;
}

/** A fresh ECDSA P-256 key and a certificate request for it, naming the cluster (the broker names it again whatever the request says). */
export async function newKeyAndRequest(clusterId: string): Promise<{ key: string; csr: string }> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=flotilla-tunnel-agent ${clusterId}`,
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: clusterUri(clusterId) }])],
  });
  return { key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), csr: request.toString('pem') };
}

/**
 * Why a certificate cannot be the agent's, or undefined when it can: it must be for the agent's
 * own key, name its cluster (and no other), be signed by the tunnel's CA and not have expired.
 * Stored otherwise, it would make every later dial fail.
 */
export function certificateProblem(certificatePem: string, keyPem: string, clusterId: string, caPem: string, now = new Date()): string | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch {
    return 'is not a PEM certificate';
  }
  if (!certificate.checkPrivateKey(createPrivateKey(keyPem))) return "is not for this agent's key";
  const named = clusterIdOf({ subjectaltname: certificate.subjectAltName ?? '' });
  if (named !== clusterId) return named === undefined ? `does not name cluster ${clusterId} (exactly one ${clusterUri('<id>')})` : `names cluster ${named}, not ${clusterId}`;
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(caPem);
  } catch {
    return "cannot be checked: the tunnel's CA certificate is not a PEM certificate";
  }
  if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) return "is not signed by the tunnel's CA";
  if (new Date(certificate.validTo).getTime() <= now.getTime()) return `expired at ${new Date(certificate.validTo).toISOString()}`;
  return undefined;
}

export function certificateSummary(certificatePem: string): { serial: string; expiresAt: string } {
  const certificate = new X509Certificate(certificatePem);
  return { serial: certificate.serialNumber.toLowerCase(), expiresAt: new Date(certificate.validTo).toISOString() };
}

/** `host:port` or `[v6]:port` as the enrollment answer gives it. */
export function parseTunnelAddress(address: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(address);
  if (!match) return undefined;
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  if (port < 1 || port > 65535 || (match[1] !== undefined && isIP(host) !== 6)) return undefined;
  return { host, port };
}
