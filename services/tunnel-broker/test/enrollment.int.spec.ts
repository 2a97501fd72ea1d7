import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TunnelRegistrationRedeemed } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { tunnelBrokerService } from '../src/service.js';
import { agentKey, enroll, enrolled, issueRegistration, revokeRegistration } from './support/agents.js';

describe('tunnel broker: agents enroll with a one-time registration token', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;

  before(async () => {
    service = await startTestService(tunnelBrokerService, { TUNNEL_AGENT_PORT: '0' });
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'tunnel-enrollment-test');
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('a token is redeemed once: the certificate names the cluster, the importer hears of it, a second use is refused', async () => {
    const { token, registrationId } = await issueRegistration(bus, prefix, 'edge-enroll', { labels: { team: 'a' } });
    const credential = await enrolled(service.url, token, 'agent-pod-1');
    assert.equal(credential.clusterId, 'edge-enroll');
    const certificate = new X509Certificate(credential.certificate);
    assert.equal(certificate.subjectAltName, 'URI:spiffe://flotilla/cluster/edge-enroll');
    assert.ok(certificate.verify(new X509Certificate(credential.caCertificate).publicKey), 'signed by the CA it hands out');
    assert.match(credential.tunnelAddress, /^[0-9.]+:[0-9]+$/);

    const [redeemed] = await eventually(async () => {
      const events = await eventsOf(bus, prefix, TunnelRegistrationRedeemed, 'edge-enroll');
      return events.length > 0 ? events : undefined;
    }, 10_000, 'TunnelRegistrationRedeemed');
    assert.equal(redeemed?.data.registrationId, registrationId);
    assert.equal(redeemed?.data.agentId, 'agent-pod-1');
    assert.equal(redeemed?.data.certificateSerial, certificate.serialNumber.toLowerCase());
    assert.ok(!JSON.stringify(redeemed).includes(token), 'the token never reaches the bus');

    const again = await enroll(service.url, { token, csr: (await agentKey()).csr, agentId: 'agent-pod-2' });
    assert.equal(again.status, 410);
    assert.equal(((await again.json()) as { code: string }).code, 'token-used');
  });

  it('two agents presenting the same token at once: exactly one gets a certificate', async () => {
    const { token } = await issueRegistration(bus, prefix, 'edge-race');
    await enrolled(service.url, (await issueRegistration(bus, prefix, 'edge-race-warmup')).token, 'warmup'); // the events have arrived
    await eventually(async () => ((await enroll(service.url, { token: 'flotilla_reg_' + 'x'.repeat(43), csr: (await agentKey()).csr, agentId: 'probe' })).status === 404 ? true : undefined));
    const keys = await Promise.all(Array.from({ length: 6 }, () => agentKey()));
    const answers = await Promise.all(keys.map((key, i) => enroll(service.url, { token, csr: key.csr, agentId: `racer-${i}` })));
    const statuses = answers.map((answer) => answer.status).sort();
    assert.deepEqual(statuses, [201, 410, 410, 410, 410, 410]);
  });

  it('unknown, revoked and expired tokens are refused with their code, and each refusal is audited', async () => {
    const { csr } = await agentKey();
    const unknown = await enroll(service.url, { token: `flotilla_reg_${'A'.repeat(43)}`, csr, agentId: 'a' });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { code: string }).code, 'token-unknown');

    const revoked = await issueRegistration(bus, prefix, 'edge-revoked');
    // A request the CA refuses (400) shows the broker knows the token, without using it up.
    await eventually(async () => ((await enroll(service.url, { token: revoked.token, csr: 'not a request', agentId: 'a' })).status === 400 ? true : undefined));
    await revokeRegistration(bus, prefix, 'edge-revoked', revoked.registrationId);
    const revokedAnswer = await eventually(async () => {
      // Still the bad request: until the revocation arrives it is answered 400, never redeemed.
      const answer = await enroll(service.url, { token: revoked.token, csr: 'not a request', agentId: 'a' });
      return answer.status === 410 ? answer : undefined;
    });
    assert.equal(((await revokedAnswer.json()) as { code: string }).code, 'token-revoked');

    const expired = await issueRegistration(bus, prefix, 'edge-expired', { expiresInMs: -1_000 });
    const expiredAnswer = await eventually(async () => {
      const answer = await enroll(service.url, { token: expired.token, csr, agentId: 'a' });
      return answer.status === 410 ? answer : undefined;
    });
    assert.equal(((await expiredAnswer.json()) as { code: string }).code, 'token-expired');

    const audit = await eventually(async () => {
      const rows = await auditRecords(service, 'POST');
      return rows.filter((row) => row.result === 'failed' && row.route === '/api/v1/tunnels/enrollments').length >= 3 ? rows : undefined;
    });
    const reasons = audit.map((row) => row.reason).join(' | ');
    assert.match(reasons, /token-unknown/);
    assert.match(reasons, /token-revoked/);
    assert.match(reasons, /token-expired/);
    assert.ok(audit.some((row) => row.clusterId === 'edge-revoked'), 'a refusal names the cluster the token belongs to');
    assert.ok(!JSON.stringify(audit).includes(revoked.token), 'never the token');
  });

  it('a bad certificate request is a 400 naming csr, and does not use the token up', async () => {
    const { token } = await issueRegistration(bus, prefix, 'edge-bad-csr');
    const garbage = await eventually(async () => {
      const answer = await enroll(service.url, { token, csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', agentId: 'a' });
      return answer.status === 404 ? undefined : answer;
    });
    assert.equal(garbage.status, 400);
    assert.match(JSON.stringify(await garbage.json()), /csr: /);
    const missing = await enroll(service.url, { token, agentId: 'a' });
    assert.equal(missing.status, 400);
    assert.match(JSON.stringify(await missing.json()), /csr/);
    assert.equal((await enroll(service.url, { token, csr: (await agentKey()).csr, agentId: 'a' })).status, 201, 'the token still works');
  });
});

interface AuditRow {
  method: string;
  route: string;
  result: string;
  reason?: string;
  clusterId?: string;
  subject: string;
}

export async function auditRecords(service: TestService, method?: string): Promise<AuditRow[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: service.env['DATABASE_URL'] });
  await client.connect();
  try {
    const { rows } = await client.query<{ record: AuditRow }>(`SELECT record FROM "${service.env['DATABASE_SCHEMA']}".audit_records ORDER BY time`);
    return rows.map((row) => row.record).filter((record) => !method || record.method === method);
  } finally {
    await client.end();
  }
}
