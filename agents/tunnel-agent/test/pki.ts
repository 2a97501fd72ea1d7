// A CA made in-process (WebCrypto through @peculiar/x509), as the broker's is: it signs agents'
// certificate requests and renewals, and the certificates of the stand-in servers.
import { webcrypto } from 'node:crypto';
// @peculiar/x509 needs the Reflect metadata API loaded before it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { clusterUri } from '@flotilla/tunnel';

x509.cryptoProvider.set(webcrypto);
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

type Keys = webcrypto.CryptoKeyPair;

export interface Issued {
  cert: string;
  key: string;
}

async function pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

export class TestCa {
  private serial = 1;

  private constructor(
    readonly cert: string,
    private readonly certificate: x509.X509Certificate,
    private readonly keys: Keys,
  ) {}

  static async create(name = 'flotilla-tunnel-agent-test'): Promise<TestCa> {
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 2 * 86_400_000),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    });
    return new TestCa(certificate.toString('pem'), certificate, keys);
  }

  /** A server certificate for 127.0.0.1 and localhost (the broker's listener, the enrollment endpoint, the API server). */
  async server(): Promise<Issued> {
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
    const cert = await this.issue('CN=localhost', keys.publicKey, [{ type: 'ip', value: '127.0.0.1' }, { type: 'dns', value: 'localhost' }], SERVER_AUTH);
    return { cert, key: await pem(keys.privateKey) };
  }

  /** Signs an agent's PEM certificate request for a cluster, as the broker's enrollment does. */
  async signRequest(csrPem: string, clusterId: string): Promise<string> {
    const request = new x509.Pkcs10CertificateRequest(csrPem);
    if (!(await request.verify())) throw new Error('the request is not signed by its key');
    return this.issue(`CN=flotilla-tunnel-agent ${clusterId}`, request.publicKey, [{ type: 'url', value: clusterUri(clusterId) }], CLIENT_AUTH);
  }

  /** A certificate for the key of `certificatePem` naming `clusterId` (a renewal, or a forged one). */
  async renew(certificatePem: string, clusterId: string): Promise<string> {
    const publicKey = new x509.X509Certificate(certificatePem).publicKey;
    return this.issue(`CN=flotilla-tunnel-agent ${clusterId}`, publicKey, [{ type: 'url', value: clusterUri(clusterId) }], CLIENT_AUTH);
  }

  /** A certificate naming `clusterId` for a key that is not the agent's. */
  async otherKey(clusterId: string): Promise<string> {
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
    return this.issue(`CN=someone ${clusterId}`, keys.publicKey, [{ type: 'url', value: clusterUri(clusterId) }], CLIENT_AUTH);
  }

  private async issue(subject: string, publicKey: x509.PublicKey | webcrypto.CryptoKey, san: x509.JsonGeneralNames, usage: string): Promise<string> {
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: (++this.serial).toString(16).padStart(2, '0'),
      subject,
      issuer: this.certificate.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      signingKey: this.keys.privateKey,
      publicKey,
      signingAlgorithm: ALGORITHM,
      extensions: [new x509.SubjectAlternativeNameExtension(san), new x509.ExtendedKeyUsageExtension([usage])],
    });
    return certificate.toString('pem');
  }
}
