import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** Who a client certificate names: Kubernetes reads the user from CN and the groups from O. */
export interface CertificateSubject {
  user: string;
  groups: string[];
}

export interface IssuedClientCertificate {
  certificatePem: string;
  privateKeyPem: string;
  /** Hex serial number: what the audit record names instead of the certificate. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** Clocks of the caller and of the API servers drift: a certificate valid from a minute ago works at once. */
const CLOCK_SKEW_MS = 60_000;
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/**
 * A client certificate signed by a cluster's CA, as kube-apiserver authenticates them
 * (`--client-ca-file`, which kubeadm points at the cluster CA): CN the user, one O per group,
 * extended key usage clientAuth only, a fresh ECDSA P-256 key that is never stored.
 */
export async function issueClientCertificate(ca: { certificatePem: string; privateKeyPem: string }, subject: CertificateSubject, now: Date, ttlMs: number): Promise<IssuedClientCertificate> {
  const crypto = webcrypto;
  const caCertificate = new x509.X509Certificate(ca.certificatePem);
  const caKey = await crypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.privateKeyPem), KEY_ALGORITHM, false, ['sign']);
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  // A positive serial: the first byte's high bit clear.
  const serial = randomBytes(16).toString('hex').replace(/^[89a-f]/, '1');
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  const notAfter = new Date(now.getTime() + ttlMs);
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial,
      subject: [{ CN: [subject.user] }, ...subject.groups.map((group) => ({ O: [group] }))],
      issuer: caCertificate.subjectName,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
        await x509.AuthorityKeyIdentifierExtension.create(caCertificate, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    certificatePem: certificate.toString('pem') + '\n',
    privateKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n',
    serial,
    notBefore,
    notAfter,
  };
}
