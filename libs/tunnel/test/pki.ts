import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterUri } from '../src/identity.js';

export interface Issued {
  cert: string;
  key: string;
}

/** A CA made with openssl that issues a broker certificate and agents' certificates (EC P-256, two days). */
export class TestCa {
  readonly cert: string;
  private readonly dir = mkdtempSync(join(tmpdir(), 'tunnel-pki-'));
  private serial = 1;

  constructor(name = 'flotilla-tunnel-test') {
    this.openssl('req', '-x509', ...this.newKey(), '-keyout', this.path('ca.key'), '-out', this.path('ca.crt'), '-subj', `/CN=${name}`, '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    this.cert = readFileSync(this.path('ca.crt'), 'utf8');
  }

  broker(): Issued {
    return this.issue('/CN=tunnel-broker', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  }

  agent(clusterId: string): Issued {
    return this.issue(`/CN=agent-${clusterId}`, `subjectAltName=${`URI:${clusterUri(clusterId)}`}\nextendedKeyUsage=clientAuth\n`);
  }

  /** A client certificate with the given SAN line (to forge or omit the cluster). */
  client(san: string | undefined): Issued {
    return this.issue('/CN=someone', `${san ? `subjectAltName=${san}\n` : ''}extendedKeyUsage=clientAuth\n`);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private issue(subject: string, extensions: string): Issued {
    const name = `leaf-${this.serial++}`;
    this.openssl('req', ...this.newKey(), '-keyout', this.path(`${name}.key`), '-out', this.path(`${name}.csr`), '-subj', subject);
    writeFileSync(this.path(`${name}.ext`), extensions);
    this.openssl('x509', '-req', '-in', this.path(`${name}.csr`), '-CA', this.path('ca.crt'), '-CAkey', this.path('ca.key'), '-CAcreateserial', '-out', this.path(`${name}.crt`), '-days', '2', '-extfile', this.path(`${name}.ext`));
    return { cert: readFileSync(this.path(`${name}.crt`), 'utf8'), key: readFileSync(this.path(`${name}.key`), 'utf8') };
  }

  private newKey(): string[] {
    return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  }

  private path(file: string): string {
    return join(this.dir, file);
  }

  private openssl(...args: string[]): void {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}
