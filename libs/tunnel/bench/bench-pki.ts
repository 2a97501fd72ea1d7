// Certificates for thousands of agents, made in-process (WebCrypto through @peculiar/x509):
// openssl would take minutes for 10,000. Agents share one key pair; only their names differ.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
import * as x509 from '@peculiar/x509';
import { clusterUri } from '../src/index.js';

x509.cryptoProvider.set(webcrypto);
const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface BenchPki {
  ca: string;
  broker: { cert: string; key: string };
  agentKey: string;
  agentCert(clusterId: string): Promise<string>;
  /** Many at once: signing runs on node's thread pool, so a batch keeps every core busy. */
  agentCerts(clusterIds: string[]): Promise<string[]>;
}

async function pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

export async function benchPki(): Promise<BenchPki> {
  const caKeys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 2 * 86_400_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=tunnel-bench-ca',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  const leafKeys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  let serial = 2;
  const issue = async (name: string, san: x509.JsonGeneralNames, usage: string) =>
    (
      await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, '0'),
        subject: name,
        issuer: ca.subject,
        notBefore,
        notAfter,
        signingKey: caKeys.privateKey,
        publicKey: leafKeys.publicKey,
        signingAlgorithm: algorithm,
        extensions: [new x509.SubjectAlternativeNameExtension(san), new x509.ExtendedKeyUsageExtension([usage])],
      })
    ).toString('pem');
  const key = await pem(leafKeys.privateKey);
  const agentCert = (clusterId: string) => issue(`CN=agent-${clusterId}`, [{ type: 'url', value: clusterUri(clusterId) }], '1.3.6.1.5.5.7.3.2');
  return {
    ca: ca.toString('pem'),
    broker: { cert: await issue('CN=tunnel-broker', [{ type: 'ip', value: '127.0.0.1' }], '1.3.6.1.5.5.7.3.1'), key },
    agentKey: key,
    agentCert,
    agentCerts: async (clusterIds) => {
      const certs: string[] = [];
      for (let i = 0; i < clusterIds.length; i += 256) certs.push(...(await Promise.all(clusterIds.slice(i, i + 256).map(agentCert))));
      return certs;
    },
  };
}
