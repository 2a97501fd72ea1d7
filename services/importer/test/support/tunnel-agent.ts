import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentLink, kubernetesForwarder } from '@flotilla/tunnel';
import type { StandInApiServer } from '@flotilla/tunnel/testing';

/** What the broker answers an agent that enrolled (POST /api/v1/tunnels/enrollments, 201). */
export interface Enrollment {
  clusterId: string;
  certificate: string;
  caCertificate: string;
  tunnelAddress: string;
  expiresAt: string;
}

/** An ECDSA P-256 key and a certificate request for it, made as the agent makes them (the key never leaves it). */
export function agentKey(): { keyPem: string; csr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'importer-agent-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'agent.key'), '-out', join(dir, 'agent.csr'), '-subj', '/CN=flotilla-tunnel-agent'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { keyPem: readFileSync(join(dir, 'agent.key'), 'utf8'), csr: readFileSync(join(dir, 'agent.csr'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A JSON POST over HTTPS trusting `ca` (the broker serves its API with a certificate of the test's CA). */
function postJson(url: string, body: unknown, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ca }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(JSON.stringify(body));
  });
}

/** Presents the registration token until the broker knows it (its TunnelRegistrationIssued may still be on the way). */
export async function enroll(brokerUrl: string, brokerCa: string, token: string, agentId: string): Promise<Enrollment & { keyPem: string }> {
  const { keyPem, csr } = agentKey();
  for (let attempt = 0; ; attempt += 1) {
    const answer = await postJson(`${brokerUrl}/api/v1/tunnels/enrollments`, { token, csr, agentId, agentVersion: '0.1.0' }, brokerCa);
    if (answer.status === 201) return { ...(JSON.parse(answer.body) as Enrollment), keyPem };
    if (answer.status !== 404 || attempt > 150) throw new Error(`enrollment answered ${answer.status}: ${answer.body}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The tunnel agent as it runs in the workload cluster: dials the broker with its certificate,
 * forwards Kubernetes API streams to the cluster's API server with its own service-account token
 * (impersonating whom the broker names), and records the broker's commands (`POST /stop`...).
 */
export class TestTunnelAgent {
  readonly link: AgentLink;
  readonly commands: { method: string; path: string }[] = [];

  constructor(enrollment: Enrollment & { keyPem: string }, apiServer: StandInApiServer, apiServerCa: string, serviceAccountToken: string) {
    const at = enrollment.tunnelAddress.lastIndexOf(':');
    const forward = kubernetesForwarder({ apiServer: apiServer.url, token: () => serviceAccountToken, ca: apiServerCa });
    this.link = new AgentLink({
      host: enrollment.tunnelAddress.slice(0, at),
      port: Number(enrollment.tunnelAddress.slice(at + 1)),
      cert: enrollment.certificate,
      key: enrollment.keyPem,
      ca: enrollment.caCertificate,
      keepaliveMs: 500,
      keepaliveTimeoutMs: 1_000,
      backoff: { initialMs: 50, maxMs: 500 },
      onStream: (stream, headers) => (headers[':authority'] === 'control.flotilla' ? this.command(stream, headers) : forward(stream, headers)),
    });
  }

  private command(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.resume();
    stream.on('end', () => {
      this.commands.push({ method: String(headers[':method']), path: String(headers[':path']) });
      stream.respond({ ':status': 204 }, { endStream: true });
    });
  }
}
