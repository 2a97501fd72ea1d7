import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterImportRequested,
  createEvent,
  EventRejected,
  eventsSubject,
  ImportRejected,
  TunnelRegistrationIssued,
  TunnelRegistrationRedeemed,
  TunnelRegistrationRevoked,
} from '@flotilla/contracts';
import { BusConnection, MessagingTables1732300000000, publishEvent, UnitOfWork } from '@flotilla/messaging';
import { createTestSchema, deleteTestStreams, eventsOf, eventually, TEST_NATS_URL, type TestSchema } from '@flotilla/messaging/testing';
import { Clock } from '@flotilla/service-kit';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { parseAllDocuments } from 'yaml';
import { TUNNEL_CREDENTIAL_REF } from '../src/domain/tunnel-cluster.js';
import { hashToken, registrationEntities, registrationMigrations, RegistrationService, RegistrationTokenRepository, type RegistrationSettings, type RegistrationView } from '../src/registration/index.js';
import type { CreatedRegistration } from '../src/registration/registrations.controller.js';
import { importerService } from '../src/service.js';
import { importerClient, importerTestEnv, waitForEvents } from './support/importer-client.js';

/** A clock the test moves forward, to cross expiry without waiting a day. */
class TestClock extends Clock {
  offsetMs = 0;
  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

const settings: RegistrationSettings = { tunnelUrl: 'https://tunnel.flotilla.example', tunnelCaPem: null, agentImage: 'registry.example/flotilla/tunnel-agent:1.2.3', defaultTtlHours: 24 };
const redemption = (agentId = 'agent-1') => ({ agentId, certificateSerial: '4f2a', certificateExpiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(), at: new Date().toISOString() });

describe('registrations on PostgreSQL', () => {
  let schema: TestSchema;
  let dataSource: DataSource;
  let unitOfWork: UnitOfWork;
  const clock = new TestClock();
  let service: RegistrationService;

  /** The events written to the outbox about a cluster, oldest first: what the relay will publish. */
  const outbox = async (clusterId: string) => {
    const rows: { type: string; payload: string }[] = await dataSource.query(`SELECT headers->>'ce-type' AS type, payload FROM outbox WHERE headers->>'ce-subject' = $1 ORDER BY seq`, [clusterId]);
    return rows.map((row) => ({ type: row.type, data: JSON.parse(row.payload) as Record<string, unknown> }));
  };
  const issue = async (clusterName = 'edge', request: { labels?: Record<string, string>; ttlHours?: number } = {}, overrides: Partial<RegistrationSettings> = {}) => {
    const outcome = await new RegistrationService(unitOfWork, new RegistrationTokenRepository(unitOfWork), clock, { ...settings, ...overrides }).issue({ clusterName, ...request });
    assert.ok(outcome.ok);
    return outcome.issued;
  };

  before(async () => {
    schema = await createTestSchema([MessagingTables1732300000000, ...registrationMigrations], 'importer_reg');
    dataSource = new DataSource(schema.dataSourceOptions({ entities: registrationEntities }));
    await dataSource.initialize();
    unitOfWork = new UnitOfWork(dataSource, { service: 'importer', prefix: 'unused' });
    service = new RegistrationService(unitOfWork, new RegistrationTokenRepository(unitOfWork), clock, settings);
  });

  after(async () => {
    await dataSource.destroy();
    await schema.drop();
  });

  it('issues a token stored only as its hash, and tells the broker the hash (TunnelRegistrationIssued) in the same transaction', async () => {
    const issued = await issue('Edge Site 7', { labels: { team: 'a', env: 'prod' } });
    const token = issued.token.revealString();
    assert.match(issued.clusterId, /^edge-site-7-[0-9a-f]{6}$/);
    assert.ok(issued.manifest.revealString().includes(token));
    assert.equal(String(issued.token), '[redacted]');

    const rows: { row: string }[] = await dataSource.query(`SELECT t::text AS row FROM registration_tokens t WHERE id = $1`, [issued.registrationId]);
    assert.equal(rows.length, 1);
    assert.ok(!rows[0]?.row.includes(token), 'the token is in the table');
    assert.ok(rows[0]?.row.includes(hashToken(token)));

    const events = await outbox(issued.clusterId);
    assert.deepEqual(events, [
      {
        type: TunnelRegistrationIssued.type,
        data: { registrationId: issued.registrationId, clusterName: 'Edge Site 7', tokenHash: hashToken(token), expiresAt: issued.expiresAt, labels: { team: 'a', env: 'prod' } },
      },
    ]);
    assert.ok(!JSON.stringify(await dataSource.query(`SELECT * FROM outbox`)).includes(token), 'the token is in the outbox');

    const view = await service.find(issued.registrationId);
    assert.equal(view?.status, 'pending');
    assert.equal(view?.clusterName, 'Edge Site 7');
    assert.deepEqual(view?.labels, { team: 'a', env: 'prod' });
    assert.ok(!JSON.stringify(view).includes(token));
  });

  it('redeemed by the broker: used, with its agent, and the cluster is imported through its tunnel; a redelivery changes nothing', async () => {
    const issued = await issue('edge-redeemed', { labels: { site: '7' } });
    const first = await service.recordRedeemed(issued.registrationId, redemption('agent-a'));
    assert.equal(first.kind, 'import');
    const view = await service.find(issued.registrationId);
    assert.equal(view?.status, 'used');
    assert.equal(view?.agentId, 'agent-a');

    assert.equal((await service.recordRedeemed(issued.registrationId, redemption('agent-b'))).kind, 'unchanged');
    assert.equal((await service.find(issued.registrationId))?.agentId, 'agent-a');
    const events = await outbox(issued.clusterId);
    assert.deepEqual(
      events.map((event) => event.type),
      [TunnelRegistrationIssued.type, ClusterImportRequested.type],
      'one import request, whatever the redeliveries',
    );
    assert.deepEqual(events[1]?.data, { name: 'edge-redeemed', credentialRef: TUNNEL_CREDENTIAL_REF, provider: 'cncf', labels: { site: '7' } });
    assert.equal((await new RegistrationTokenRepository(unitOfWork).isRedeemed(issued.clusterId)), true);
  });

  it('records one redemption when several reports race', async () => {
    for (let round = 0; round < 5; round += 1) {
      const issued = await issue(`race-${round}`);
      const outcomes = await Promise.all(Array.from({ length: 3 }, (_, index) => service.recordRedeemed(issued.registrationId, redemption(`agent-${index}`))));
      assert.deepEqual(outcomes.map((outcome) => outcome.kind).sort(), ['import', 'unchanged', 'unchanged'], `round ${round}`);
      assert.equal((await outbox(issued.clusterId)).filter((event) => event.type === ClusterImportRequested.type).length, 1);
    }
  });

  it('revokes: the broker is told once (revoking twice is harmless); a used token cannot be revoked', async () => {
    const issued = await issue();
    const revoked = await service.revoke(issued.registrationId);
    assert.ok(revoked.ok);
    assert.equal(revoked.registration.status, 'revoked');
    const again = await service.revoke(issued.registrationId);
    assert.ok(again.ok);
    assert.equal(again.registration.revokedAt, revoked.registration.revokedAt);
    const events = await outbox(issued.clusterId);
    assert.deepEqual(events.map((event) => event.type), [TunnelRegistrationIssued.type, TunnelRegistrationRevoked.type]);
    assert.deepEqual(events[1]?.data, { registrationId: issued.registrationId });

    const used = await issue();
    assert.equal((await service.recordRedeemed(used.registrationId, redemption())).kind, 'import');
    assert.deepEqual(await service.revoke(used.registrationId), { ok: false, reason: 'token-used' });
    assert.deepEqual(await service.revoke('00000000-0000-4000-8000-000000000000'), { ok: false, reason: 'token-unknown' });
  });

  it('revoked, then redeemed by a broker that had not heard yet: the cluster is removed again (ClusterDeleted), not imported', async () => {
    const issued = await issue('edge-late');
    assert.ok((await service.revoke(issued.registrationId)).ok);
    assert.equal((await service.recordRedeemed(issued.registrationId, redemption())).kind, 'withdraw');
    const events = await outbox(issued.clusterId);
    assert.deepEqual(
      events.map((event) => event.type),
      [TunnelRegistrationIssued.type, TunnelRegistrationRevoked.type, ClusterDeleted.type],
    );
    assert.deepEqual(events[2]?.data, { model: 'connected' });
    assert.equal((await service.find(issued.registrationId))?.status, 'revoked');
    assert.equal(await new RegistrationTokenRepository(unitOfWork).isRedeemed(issued.clusterId), false);
  });

  it('an unknown registration is not recorded', async () => {
    assert.deepEqual(await service.recordRedeemed(randomUUID(), redemption()), { kind: 'unknown' });
  });

  it('expires after its time to live (24 h by default, or as asked)', async () => {
    const issued = await issue();
    const short = await issue('brief', { ttlHours: 1 });
    clock.offsetMs = 2 * 3_600_000;
    try {
      assert.equal((await service.find(short.registrationId))?.status, 'expired');
      assert.equal((await service.find(issued.registrationId))?.status, 'pending');
      clock.offsetMs = 24 * 3_600_000 + 1_000;
      assert.equal((await service.find(issued.registrationId))?.status, 'expired');
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('cannot issue without a tunnel URL from the request or the configuration', async () => {
    const unconfigured = new RegistrationService(unitOfWork, new RegistrationTokenRepository(unitOfWork), clock, { ...settings, tunnelUrl: undefined });
    assert.deepEqual(await unconfigured.issue({ clusterName: 'edge' }), { ok: false, reason: 'tunnel-url-missing' });
    const named = await unconfigured.issue({ clusterName: 'edge', tunnelUrl: 'https://other-tunnel.example' });
    assert.ok(named.ok);
    assert.match(named.issued.manifest.revealString(), /https:\/\/other-tunnel\.example/);
  });
});

describe('registrations over HTTP and the bus (the importer service)', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let http: ReturnType<typeof importerClient>;
  const register = (body: unknown, headers: Record<string, string> = {}) =>
    http.api('/api/v1/registrations', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const redeemed = (clusterId: string, registrationId: string, agentId = 'agent-http') =>
    publishEvent(
      bus.js,
      eventsSubject({ prefix }, TunnelRegistrationRedeemed.channel),
      createEvent(TunnelRegistrationRedeemed, { subject: clusterId, source: '/flotilla/tunnel-broker' }, { registrationId, agentId, certificateSerial: '01ab', certificateExpiresAt: new Date(Date.now() + 86_400_000).toISOString() }),
    );

  before(async () => {
    service = await startTestService(importerService, importerTestEnv({ REGISTRATION_TUNNEL_URL: settings.tunnelUrl! }));
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-registration-test');
    http = importerClient(service);
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('issues (201, token shown once), tells the broker, shows status without the token, revokes', async () => {
    const response = await register({ clusterName: 'edge-http', ttlHours: 48, labels: { team: 'a' } });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const created = (await response.json()) as CreatedRegistration;
    assert.match(created.token, /^flotilla_reg_/);
    assert.ok(Date.parse(created.expiresAt) - Date.now() > 47 * 3_600_000);
    const kinds = parseAllDocuments(created.manifest).map((document) => (document.toJS() as { kind: string }).kind);
    assert.ok(kinds.includes('Secret') && kinds.includes('Deployment'), kinds.join(', '));

    const [issued] = await waitForEvents(bus, prefix, TunnelRegistrationIssued, created.clusterId);
    assert.deepEqual(issued?.data, { registrationId: created.registrationId, clusterName: 'edge-http', tokenHash: hashToken(created.token), expiresAt: created.expiresAt, labels: { team: 'a' } });

    const shown = await http.api(`/api/v1/registrations/${created.registrationId}`);
    assert.equal(shown.status, 200);
    const text = await shown.text();
    assert.ok(!text.includes(created.token));
    assert.equal((JSON.parse(text) as RegistrationView).status, 'pending');

    assert.equal((await http.api(`/api/v1/registrations/${created.registrationId}`, { method: 'DELETE' })).status, 204);
    assert.equal(((await (await http.api(`/api/v1/registrations/${created.registrationId}`)).json()) as RegistrationView).status, 'revoked');
    const [revoked] = await waitForEvents(bus, prefix, TunnelRegistrationRevoked, created.clusterId);
    assert.deepEqual(revoked?.data, { registrationId: created.registrationId });
  });

  it('the broker redeems now: the importer has no redemption route', async () => {
    const created = (await (await register({ clusterName: 'edge-no-route' })).json()) as CreatedRegistration;
    const response = await http.api('/api/v1/registrations/redemptions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: created.token }) });
    assert.equal(response.status, 404);
    assert.equal(((await (await http.api(`/api/v1/registrations/${created.registrationId}`)).json()) as RegistrationView).status, 'pending');
  });

  it('TunnelRegistrationRedeemed: the registration is used, and the cluster waits (Requested) for its tunnel, with the labels', async () => {
    const created = (await (await register({ clusterName: 'edge-bus', labels: { site: 'north' } })).json()) as CreatedRegistration;
    await redeemed(created.clusterId, created.registrationId);
    const [requested] = await waitForEvents(bus, prefix, ClusterImportRequested, created.clusterId);
    assert.deepEqual(requested?.data, { name: 'edge-bus', credentialRef: TUNNEL_CREDENTIAL_REF, provider: 'cncf', labels: { site: 'north' } });
    const cluster = await http.settled(created.clusterId, ['Requested']);
    assert.equal(cluster.apiServer, null);
    assert.equal(cluster.tunnel, null, 'no tunnel yet: nothing is checked');
    const view = (await (await http.api(`/api/v1/registrations/${created.registrationId}`)).json()) as RegistrationView;
    assert.deepEqual([view.status, view.agentId], ['used', 'agent-http']);
    assert.equal((await http.api(`/api/v1/registrations/${created.registrationId}`, { method: 'DELETE' })).status, 409);

    // Delivered again (another event id): recorded once, one import request.
    await redeemed(created.clusterId, created.registrationId, 'agent-again');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await eventsOf(bus, prefix, ClusterImportRequested, created.clusterId)).length, 1);
    assert.equal(((await (await http.api(`/api/v1/registrations/${created.registrationId}`)).json()) as RegistrationView).agentId, 'agent-http');
  });

  it('a redemption of a registration never issued here is refused (EventRejected), and an import through the tunnel of an unregistered cluster is rejected', async () => {
    const unknown = randomUUID();
    await redeemed('edge-stranger', unknown);
    const rejections = await eventually(
      async () => {
        const seen = await eventsOf(bus, prefix, EventRejected);
        return seen.some((event) => event.data.reason.includes(unknown)) ? seen : undefined;
      },
      10_000,
      'the EventRejected of the unknown registration',
    );
    assert.ok(rejections.length > 0);

    assert.equal((await http.post({ id: 'edge-unregistered', name: 'edge-unregistered', credentialRef: TUNNEL_CREDENTIAL_REF, provider: 'cncf' })).status, 202);
    const [rejected] = await waitForEvents(bus, prefix, ImportRejected, 'edge-unregistered');
    assert.deepEqual(rejected?.data.reasons.map((reason) => reason.code), ['tunnel-not-registered']);
  });

  it('answers 400 naming each bad field; a label-scoped operator registers only clusters carrying its labels', async () => {
    const cases: [unknown, string[]][] = [
      [{}, ['clusterName']],
      [{ clusterName: '', tunnelUrl: 'http://plain.example', ttlHours: 0 }, ['clusterName', 'tunnelUrl', 'ttlHours']],
      [{ clusterName: 'edge', ttlHours: 1000 }, ['ttlHours']],
      [{ clusterName: 'edge', labels: { 'not a key': 'x' } }, ['labels.not a key']],
      [{ clusterName: 'edge', extra: true }, ['(body)']],
    ];
    for (const [body, fields] of cases) {
      const response = await register(body);
      assert.equal(response.status, 400, JSON.stringify(body));
      const problems = ((await response.json()) as { errors: { field: string }[] }).errors.map((problem) => problem.field).sort();
      assert.deepEqual(problems, fields.sort(), JSON.stringify(body));
    }
    const badId = await http.api('/api/v1/registrations/not-a-uuid');
    assert.equal(badId.status, 400);
    assert.deepEqual(((await badId.json()) as { errors: { field: string }[] }).errors.map((problem) => problem.field), ['id']);
    assert.equal((await http.api('/api/v1/registrations/00000000-0000-4000-8000-000000000000')).status, 404);

    const scoped = await service.auth('operator', { subject: 'team-a-ci', scope: { labels: { team: 'a' } } });
    assert.equal((await register({ clusterName: 'edge-b', labels: { team: 'b' } }, scoped)).status, 403);
    assert.equal((await register({ clusterName: 'edge-none' }, scoped)).status, 403);
    assert.equal((await register({ clusterName: 'edge-a', labels: { team: 'a' } }, scoped)).status, 201);
  });
});
