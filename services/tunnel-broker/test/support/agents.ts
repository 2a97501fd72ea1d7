import 'reflect-metadata';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import * as x509 from '@peculiar/x509';
import { createEvent, eventsSubject, TunnelRegistrationIssued, TunnelRegistrationRevoked } from '@flotilla/contracts';
import { publishEvent, type BusConnection } from '@flotilla/messaging';
import { AgentLink, ENROLLMENT_PATH, kubernetesForwarder, type AgentLinkEvent, type Enrolled } from '@flotilla/tunnel';
import type { StandInApiServer } from '@flotilla/tunnel/testing';

x509.cryptoProvider.set(webcrypto);
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
export const SERVICE_ACCOUNT_TOKEN = 'agent-service-account-token';

const pem = (label: string, der: ArrayBuffer) => `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END ${label}-----\n`;

/** A key the agent keeps and a certificate request for it, as the agent makes them. */
export async function agentKey(): Promise<{ keyPem: string; csr: string }> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=flotilla-tunnel-agent', keys, signingAlgorithm: ALGORITHM });
  return { keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), csr: csr.toString('pem') };
}

/** A registration as the importer would issue it: the token stays here, its hash goes on the bus. */
export async function issueRegistration(bus: BusConnection, prefix: string, clusterId: string, options: { labels?: Record<string, string>; expiresInMs?: number } = {}) {
  const token = `flotilla_reg_${randomBytes(32).toString('base64url')}`;
  const registrationId = webcrypto.randomUUID();
  const event = createEvent(
    TunnelRegistrationIssued,
    { subject: clusterId, source: '/flotilla/importer' },
    {
      registrationId,
      clusterName: clusterId,
      tokenHash: createHash('sha256').update(token).digest('hex'),
      expiresAt: new Date(Date.now() + (options.expiresInMs ?? 3_600_000)).toISOString(),
      ...(options.labels ? { labels: options.labels } : {}),
    },
  );
  await publishEvent(bus.js, eventsSubject({ prefix }, TunnelRegistrationIssued.channel), event);
  return { token, registrationId };
}

export async function revokeRegistration(bus: BusConnection, prefix: string, clusterId: string, registrationId: string): Promise<void> {
  await publishEvent(bus.js, eventsSubject({ prefix }, TunnelRegistrationRevoked.channel), createEvent(TunnelRegistrationRevoked, { subject: clusterId, source: '/flotilla/importer' }, { registrationId }));
}

export async function enroll(brokerUrl: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${brokerUrl}${ENROLLMENT_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Enrolls with a fresh key until the broker knows the registration (its event may still be on the way). */
export async function enrolled(brokerUrl: string, token: string, agentId: string): Promise<Enrolled & { keyPem: string }> {
  const { keyPem, csr } = await agentKey();
  for (let attempt = 0; ; attempt++) {
    const response = await enroll(brokerUrl, { token, csr, agentId, agentVersion: '0.1.0' });
    if (response.status === 201) return { ...((await response.json()) as Enrolled), keyPem };
    if (response.status !== 404 || attempt > 100) throw new Error(`enrollment answered ${response.status}: ${await response.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** An agent as the real one behaves on its tunnel: Kubernetes requests to the API server, the broker's commands recorded. */
export class TestAgent {
  readonly link: AgentLink;
  readonly commands: { method: string; path: string; body: string }[] = [];
  readonly changes: AgentLinkEvent[] = [];

  constructor(credential: { certificate: string; keyPem: string; caCertificate: string; tunnelAddress: string }, apiServer: StandInApiServer, apiServerCa: string, options: { port?: number } = {}) {
    const [host, port] = splitAddress(credential.tunnelAddress);
    const forward = kubernetesForwarder({ apiServer: apiServer.url, token: () => SERVICE_ACCOUNT_TOKEN, ca: apiServerCa });
    this.link = new AgentLink({
      host,
      port: options.port ?? port,
      cert: credential.certificate,
      key: credential.keyPem,
      ca: credential.caCertificate,
      keepaliveMs: 500,
      keepaliveTimeoutMs: 1_000,
      backoff: { initialMs: 50, maxMs: 500 },
      onStream: (stream, headers) => (headers[':authority'] === 'control.flotilla' ? this.control(stream, headers) : forward(stream, headers)),
    });
    this.link.on('change', (change) => this.changes.push(change));
  }

  start(): this {
    this.link.start();
    return this;
  }

  private control(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      this.commands.push({ method: String(headers[':method']), path: String(headers[':path']), body: Buffer.concat(chunks).toString() });
      stream.respond({ ':status': 204 }, { endStream: true });
    });
  }
}

export function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}
