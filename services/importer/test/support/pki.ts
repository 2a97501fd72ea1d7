import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A CA with a server certificate for 127.0.0.1/localhost and a client certificate, as kubeadm would issue them. */
export interface TestPki {
  caCertificatePem: string;
  serverCertificatePem: string;
  serverKeyPem: string;
  /** CN=admin, O=system:masters: what `kubeadm kubeconfig user` gives a cluster admin. */
  clientCertificatePem: string;
  clientKeyPem: string;
}

/** Issues a fresh PKI with openssl (EC P-256, valid two days). `name` ends up in the CA's subject. */
export function createTestPki(name = 'kubernetes'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'importer-pki-'));
  const path = (file: string) => join(dir, file);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    openssl('req', '-x509', ...key, '-keyout', path('ca.key'), '-out', path('ca.crt'), '-subj', `/CN=${name}`, '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature');
    const issue = (file: string, subject: string, extensions: string) => {
      openssl('req', ...key, '-keyout', path(`${file}.key`), '-out', path(`${file}.csr`), '-subj', subject);
      writeFileSync(path(`${file}.ext`), extensions);
      openssl('x509', '-req', '-in', path(`${file}.csr`), '-CA', path('ca.crt'), '-CAkey', path('ca.key'), '-CAcreateserial', '-out', path(`${file}.crt`), '-days', '2', '-extfile', path(`${file}.ext`));
      // PKCS#8, as kubeadm writes keys today.
      openssl('pkcs8', '-topk8', '-nocrypt', '-in', path(`${file}.key`), '-out', path(`${file}.p8`));
    };
    issue('server', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
    issue('client', '/O=system:masters/CN=admin', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
    const read = (file: string) => readFileSync(path(file), 'utf8');
    return {
      caCertificatePem: read('ca.crt'),
      serverCertificatePem: read('server.crt'),
      serverKeyPem: read('server.p8'),
      clientCertificatePem: read('client.crt'),
      clientKeyPem: read('client.p8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A service-account-style JWT (RS256 header, unsigned here: the stand-in checks it by value, like a static token file). */
export function serviceAccountJwt(expiresAt: Date, subject = 'system:serviceaccount:kube-system:flotilla-importer'): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return [
    encode({ alg: 'RS256', kid: 'Jk8sbQ3d' }),
    encode({ aud: ['https://kubernetes.default.svc'], exp: Math.floor(expiresAt.getTime() / 1000), iat: now, iss: 'https://kubernetes.default.svc', sub: subject }),
    Buffer.from(`signature-${subject}-${now}`).toString('base64url'),
  ].join('.');
}
