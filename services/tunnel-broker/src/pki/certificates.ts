// @peculiar/x509 resolves its ASN.1 classes through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { clusterUri } from '@flotilla/tunnel';

x509.cryptoProvider.set(webcrypto);

/** ECDSA P-256 everywhere: small, fast, and what every TLS stack speaks. */
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
/** Clocks of agents and broker disagree a little: certificates start a few minutes early. */
const BACKDATE_MS = 5 * 60_000;

export interface CaMaterial {
  certificatePem: string;
  /** PKCS#8 PEM: sealed at rest by the caller. */
  privateKeyPem: string;
}

export interface IssuedCertificate {
  certificatePem: string;
  /** Hex, lower case, as `X509Certificate.serialNumber` gives it upper case. */
  serialNumber: string;
  notAfter: Date;
}

/** Why a certificate request was not signed: the agent's mistake, answered with a 400. */
export class CertificateRequestError extends Error {
  override readonly name = 'CertificateRequestError';
}

function toPem(label: string, der: ArrayBuffer): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END ${label}-----\n`;
}

function serial(): string {
  // Positive 128-bit serials: unique without coordination between replicas.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

export async function generateCa(commonName: string, validDays: number, now: Date): Promise<CaMaterial> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + validDays * 86_400_000),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: certificate.toString('pem'), privateKeyPem: toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

/** The CA as it signs: its certificate and its private key, imported once. */
export class CertificateAuthority {
  private constructor(
    readonly certificatePem: string,
    private readonly certificate: x509.X509Certificate,
    private readonly signingKey: webcrypto.CryptoKey,
  ) {}

  static async load(material: CaMaterial): Promise<CertificateAuthority> {
    const der = Buffer.from(material.privateKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const key = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
    return new CertificateAuthority(material.certificatePem, new x509.X509Certificate(material.certificatePem), key);
  }

  get notAfter(): Date {
    return this.certificate.notAfter;
  }

  /**
   * Signs an agent's certificate request: the key is the agent's (it never leaves the agent), the
   * name is the cluster's, whatever the request asked for.
   */
  async signAgentRequest(csrPem: string, clusterId: string, validS: number, now: Date): Promise<IssuedCertificate> {
    let request: x509.Pkcs10CertificateRequest;
    try {
      request = new x509.Pkcs10CertificateRequest(csrPem);
    } catch {
      throw new CertificateRequestError('is not a PEM PKCS#10 certificate request');
    }
    if (!(await request.verify().catch(() => false))) throw new CertificateRequestError('is not signed by the key it carries');
    const algorithm = request.publicKey.algorithm as { name?: string; namedCurve?: string };
    if (algorithm.name !== 'ECDSA' || !['P-256', 'P-384'].includes(algorithm.namedCurve ?? '')) throw new CertificateRequestError('must carry an ECDSA P-256 or P-384 key');
    return this.issueClient(request.publicKey, clusterId, validS, now);
  }

  /** A new certificate for the key of an agent's current one (renewal before it expires). */
  async renewAgentCertificate(currentDer: Buffer, clusterId: string, validS: number, now: Date): Promise<IssuedCertificate> {
    return this.issueClient(new x509.X509Certificate(currentDer).publicKey, clusterId, validS, now);
  }

  /** The tunnel listener's certificate for the names agents dial (host names or IP addresses). */
  async serverCertificate(names: readonly string[], publicKey: webcrypto.CryptoKey, validS: number, now: Date): Promise<IssuedCertificate> {
    const san = names.map((name) => (isIP(name) ? { type: 'ip' as const, value: name } : { type: 'dns' as const, value: name }));
    return this.issue(`CN=${names[0] ?? 'tunnel-broker'}`, publicKey, [new x509.SubjectAlternativeNameExtension(san), new x509.ExtendedKeyUsageExtension([SERVER_AUTH])], validS, now);
  }

  private issueClient(publicKey: x509.PublicKey, clusterId: string, validS: number, now: Date): Promise<IssuedCertificate> {
    return this.issue(
      `CN=flotilla-tunnel-agent ${clusterId}`,
      publicKey,
      [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: clusterUri(clusterId) }]), new x509.ExtendedKeyUsageExtension([CLIENT_AUTH])],
      validS,
      now,
    );
  }

  private async issue(subject: string, publicKey: x509.PublicKey | webcrypto.CryptoKey, extensions: x509.Extension[], validS: number, now: Date): Promise<IssuedCertificate> {
    // Never beyond the CA itself: a certificate outliving its issuer would fail anyway.
    const notAfter = new Date(Math.min(now.getTime() + validS * 1000, this.certificate.notAfter.getTime()));
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: this.certificate.subject,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter,
      signingKey: this.signingKey,
      publicKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.certificate, false),
        ...extensions,
      ],
    });
    const pem = certificate.toString('pem');
    return { certificatePem: pem, serialNumber: new X509Certificate(pem).serialNumber.toLowerCase(), notAfter };
  }
}

/** A fresh key for the listener's certificate, as PEM for node:tls and as a CryptoKey to certify. */
export async function listenerKey(): Promise<{ privateKeyPem: string; publicKey: webcrypto.CryptoKey }> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  return { privateKeyPem: toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), publicKey: keys.publicKey };
}
