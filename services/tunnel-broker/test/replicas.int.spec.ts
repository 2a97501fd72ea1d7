import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { selfSignedCertificate } from '@flotilla/auth/testing';
import { TunnelConnected, TunnelDisconnected } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { StandInApiServer } from '@flotilla/tunnel/testing';
import { AgentGateway } from '../src/agents/agent-gateway.js';
import { tunnelBrokerService } from '../src/service.js';
import { auditRecords } from './enrollment.int.spec.js';
import { enrolled, issueRegistration, SERVICE_ACCOUNT_TOKEN, TestAgent } from './support/agents.js';

/** The agents' load balancer: one address, sending new connections to whichever replica it is told. */
class Balancer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  target = 0;

  constructor() {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('tunnel broker: several replicas behind one address', () => {
  const balancer = new Balancer();
  let first: TestService;
  let second: TestService;
  let bus: BusConnection;
  let prefix: string;
  let apiServer: StandInApiServer;
  let agent: TestAgent;

  before(async () => {
    const address = `127.0.0.1:${await balancer.listen()}`;
    const shared = { TUNNEL_AGENT_PORT: '0', TUNNEL_AGENT_ADDRESS: address, TUNNEL_HEARTBEAT_TIMEOUT_MS: '2000', TUNNEL_SWEEP_INTERVAL_MS: '100', TUNNEL_KEEPALIVE_MS: '500', TUNNEL_KEEPALIVE_TIMEOUT_MS: '1000' };
    first = await startTestService(tunnelBrokerService, shared);
    // The same schema, bus and keys: a second replica of the same broker.
    second = await startTestService(tunnelBrokerService, { ...shared, DATABASE_SCHEMA: first.env['DATABASE_SCHEMA']!, BUS_PREFIX: first.env['BUS_PREFIX']!, SECRETS_KEYS: first.env['SECRETS_KEYS']! });
    prefix = first.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'tunnel-replicas-test');
    const tls = selfSignedCertificate();
    apiServer = new StandInApiServer({ ...tls, tokens: [SERVICE_ACCOUNT_TOKEN] });
    await apiServer.listen();
    balancer.target = agentPort(first);
    const { token } = await issueRegistration(bus, prefix, 'edge-moving');
    agent = new TestAgent(await enrolled(second.url, token, 'edge-moving-agent'), apiServer, tls.cert).start();
  });

  after(async () => {
    await agent.link.stop();
    await balancer.close();
    await apiServer.close();
    await second.dispose();
    await first.dispose().catch(() => undefined);
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('a request arriving at the replica without the agent is forwarded to the one holding it, and audited once', async () => {
    await eventually(async () => ((await eventsOf(bus, prefix, TunnelConnected, 'edge-moving')).length > 0 ? true : undefined), 15_000);
    const viewer = await second.auth('viewer', { subject: 'via-second' });
    // Until the second replica learns where the agent is, it answers 503: each try is audited too.
    let tries = 0;
    const answer = await eventually(async () => {
      tries++;
      const response = await fetch(`${second.url}/api/v1/tunnels/edge-moving/k8s/version`, { headers: viewer });
      return response.status === 200 ? response : undefined;
    });
    assert.equal(((await answer.json()) as { gitVersion: string }).gitVersion, 'v1.32.4');
    assert.equal(apiServer.requests.at(-1)?.user, 'via-second');
    const records = (await auditRecords(second)).filter((row) => row.subject === 'via-second');
    assert.equal(records.length, tries, 'each try recorded by the replica the caller reached, not again by the other');
  });

  it('when the replica holding the agent stops, the agent moves to the other one and requests resume; the cluster never went down', async () => {
    balancer.target = agentPort(second);
    await first.dispose({ keepSchema: true });
    const viewer = await second.auth('viewer');
    await eventually(async () => ((await fetch(`${second.url}/api/v1/tunnels/edge-moving/k8s/version`, { headers: viewer })).status === 200 ? true : undefined), 15_000, 'requests through the second replica');
    // Past the heartbeat timeout: the first replica's session was superseded, not timed out.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal((await eventsOf(bus, prefix, TunnelConnected, 'edge-moving')).length, 1, 'TunnelConnected once');
    assert.equal((await eventsOf(bus, prefix, TunnelDisconnected, 'edge-moving')).length, 0, 'no TunnelDisconnected');
  });
});

function agentPort(service: TestService): number {
  return service.app.get(AgentGateway).listeningPort;
}
