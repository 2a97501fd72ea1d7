// What an agent meets, all on this machine over real TLS: the stand-in API server of its cluster
// (its Secrets), the broker's agent listener, and the broker's enrollment endpoint.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentListener, type AgentListenerEvent } from '@flotilla/tunnel';
import { StandInApiServer } from '@flotilla/tunnel/testing';
import { TunnelAgent, type AgentTiming } from '../src/agent.js';
import { loadConfig } from '../src/config.js';
import { jsonLog } from '../src/log.js';
import { coreApi, CredentialStore, RegistrationSecret } from '../src/secret-store.js';
import { EnrollmentServer } from './enrollment-server.js';
import { TestCa } from './pki.js';

export const NAMESPACE = 'flotilla-system';
export const CREDENTIAL_SECRET = 'flotilla-tunnel-agent-credential';
export const REGISTRATION_SECRET = 'flotilla-tunnel-agent-registration';
const SERVICE_ACCOUNT_TOKEN = 'agent-service-account-token';

export type LogLine = { level: string; msg: string } & Record<string, unknown>;

/** Fast retries, so a test sees several in well under a second. */
export const FAST: Partial<AgentTiming> = { backoff: { initialMs: 20, maxMs: 100 }, refusedRetryMs: 150, linkBackoff: { initialMs: 20, maxMs: 100 } };

export class World {
  readonly events: AgentListenerEvent[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'tunnel-agent-'));
  private readonly agents: TunnelAgent[] = [];

  private constructor(
    readonly ca: TestCa,
    readonly api: StandInApiServer,
    readonly listener: AgentListener,
    readonly enrollment: EnrollmentServer,
    readonly listenerPort: number,
    /** Every certificate the listener was shown, in order: cluster and serial (lower-case hex). */
    readonly dials: { clusterId: string; serial: string }[],
  ) {}

  static async start(): Promise<World> {
    const ca = await TestCa.create();
    const server = await ca.server();
    const api = new StandInApiServer({ cert: server.cert, key: server.key, tokens: [SERVICE_ACCOUNT_TOKEN] });
    await api.listen();
    const dials: { clusterId: string; serial: string }[] = [];
    const listener = new AgentListener({
      cert: server.cert,
      key: server.key,
      ca: ca.cert,
      refuse: (clusterId, certificate) => {
        dials.push({ clusterId, serial: certificate.serialNumber.toLowerCase() });
        return undefined;
      },
    });
    const listenerPort = await listener.listen(0, '127.0.0.1');
    const enrollment = new EnrollmentServer(ca, server, () => `127.0.0.1:${listenerPort}`);
    await enrollment.listen();
    const world = new World(ca, api, listener, enrollment, listenerPort, dials);
    listener.on('change', (event) => world.events.push(event));
    writeFileSync(join(world.dir, 'token'), `${SERVICE_ACCOUNT_TOKEN}\n`);
    writeFileSync(join(world.dir, 'ca.crt'), ca.cert);
    writeFileSync(join(world.dir, 'namespace'), NAMESPACE);
    writeFileSync(join(world.dir, 'tunnel-ca.crt'), ca.cert);
    // What the registration's manifest creates: the token's Secret and the empty credential Secret.
    api.putSecret(NAMESPACE, CREDENTIAL_SECRET, {});
    return world;
  }

  /** A registration: the token known to the enrollment endpoint and in the registration Secret. */
  register(token: string, clusterId: string): void {
    this.enrollment.issue(token, clusterId);
    this.api.putSecret(NAMESPACE, REGISTRATION_SECRET, { token });
  }

  env(clusterId: string, token: string | undefined, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      FLOTILLA_CLUSTER_ID: clusterId,
      FLOTILLA_TUNNEL_URL: this.enrollment.url,
      FLOTILLA_TUNNEL_CA_FILE: join(this.dir, 'tunnel-ca.crt'),
      FLOTILLA_AGENT_ID: `flotilla-tunnel-agent-${clusterId}-0`,
      ...(token ? { FLOTILLA_REGISTRATION_TOKEN: token } : {}),
      FLOTILLA_SERVICE_ACCOUNT_DIR: this.dir,
      FLOTILLA_KUBERNETES_API: this.api.url,
      ...extra,
    };
  }

  /** An agent in this process, as main.ts builds it, with its log lines kept. */
  agent(env: NodeJS.ProcessEnv, timing: Partial<AgentTiming> = FAST): { agent: TunnelAgent; logs: LogLine[]; output: string[] } {
    const config = loadConfig(env);
    const kube = coreApi(config.kubernetes);
    const logs: LogLine[] = [];
    const output: string[] = [];
    const log = jsonLog({ clusterId: config.clusterId }, (line) => {
      output.push(line);
      logs.push(JSON.parse(line) as LogLine);
    });
    const agent = new TunnelAgent({ config, store: new CredentialStore(kube, config.namespace, config.credentialSecret), registration: new RegistrationSecret(kube, config.namespace, config.registrationSecret), log, agentVersion: '0.1.0', timing });
    this.agents.push(agent);
    return { agent, logs, output };
  }

  /** The credential Secret's data, decoded. */
  credential(name = CREDENTIAL_SECRET): Record<string, string> {
    return decoded(this.api.secret(NAMESPACE, name)?.data);
  }

  registrationSecret(): Record<string, string> {
    return decoded(this.api.secret(NAMESPACE, REGISTRATION_SECRET)?.data);
  }

  connected(clusterId: string): Promise<void> {
    return this.until(() => this.listener.session(clusterId) !== undefined, `${clusterId}'s agent to connect`);
  }

  async request(clusterId: string, headers: OutgoingHttpHeaders, body?: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
    const session: ClientHttp2Session | undefined = this.listener.session(clusterId)?.session;
    if (!session) throw new Error(`${clusterId} is not connected`);
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'GET', ...headers }, { endStream: body === undefined });
      const chunks: Buffer[] = [];
      let answer: IncomingHttpHeaders = {};
      stream.on('response', (headers) => (answer = headers));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('end', () => resolve({ status: Number(answer[':status']), headers: answer, body: Buffer.concat(chunks).toString() }));
      stream.once('error', reject);
      if (body !== undefined) stream.end(body);
    });
  }

  async until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.agents.map((agent) => agent.shutdown()));
    await this.listener.close();
    await this.enrollment.close();
    await this.api.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function decoded(data: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries((data ?? {}) as Record<string, string>).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]));
}
