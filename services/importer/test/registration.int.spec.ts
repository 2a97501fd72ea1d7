import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagingTables1732300000000, UnitOfWork } from '@flotilla/messaging';
import { createTestSchema, type TestSchema } from '@flotilla/messaging/testing';
import { Clock } from '@flotilla/service-kit';
import { DataSource } from 'typeorm';
import { parseAllDocuments } from 'yaml';
import {
  hashToken,
  registrationControllers,
  registrationEntities,
  registrationMigrations,
  registrationProviders,
  RegistrationService,
  RegistrationTokenRepository,
  type RegistrationSettings,
  type RegistrationView,
} from '../src/registration/index.js';
import type { CreatedRegistration } from '../src/registration/registrations.controller.js';

/** A clock the test moves forward, to cross expiry without waiting a day. */
class TestClock extends Clock {
  offsetMs = 0;
  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

const settings: RegistrationSettings = { tunnelUrl: 'https://tunnel.flotilla.example', agentImage: 'registry.example/flotilla/tunnel-agent:1.2.3', defaultTtlHours: 24 };

describe('registrations on PostgreSQL', () => {
  let schema: TestSchema;
  let dataSource: DataSource;
  let unitOfWork: UnitOfWork;
  const clock = new TestClock();
  let service: RegistrationService;

  const issue = async (clusterName = 'edge', overrides: Partial<RegistrationSettings> = {}) => {
    const outcome = await new RegistrationService(unitOfWork, new RegistrationTokenRepository(unitOfWork), clock, { ...settings, ...overrides }).issue({ clusterName });
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

  it('issues a token stored only as its hash, with a manifest that holds it', async () => {
    const issued = await issue('Edge Site 7');
    const token = issued.token.revealString();
    assert.match(issued.clusterId, /^edge-site-7-[0-9a-f]{6}$/);
    assert.ok(issued.manifest.revealString().includes(token));
    assert.equal(String(issued.token), '[redacted]');

    const rows: { row: string }[] = await dataSource.query(`SELECT t::text AS row FROM registration_tokens t WHERE id = $1`, [issued.registrationId]);
    assert.equal(rows.length, 1);
    assert.ok(!rows[0]?.row.includes(token), 'the token is in the table');
    assert.ok(rows[0]?.row.includes(hashToken(token)));

    const view = await service.find(issued.registrationId);
    assert.equal(view?.status, 'pending');
    assert.equal(view?.clusterName, 'Edge Site 7');
    assert.ok(!JSON.stringify(view).includes(token));
  });

  it('redeems once; a second redeem is token-used', async () => {
    const issued = await issue();
    const first = await service.redeem(issued.token);
    assert.ok(first.ok);
    assert.equal(first.registration.clusterId, issued.clusterId);
    assert.equal(first.registration.status, 'used');
    assert.deepEqual(await service.redeem(issued.token), { ok: false, reason: 'token-used' });
    assert.equal((await service.find(issued.registrationId))?.status, 'used');
  });

  it('refuses unknown tokens', async () => {
    assert.deepEqual(await service.redeem('not a token'), { ok: false, reason: 'token-unknown' });
    const issued = await issue();
    const forged = `${issued.token.revealString().slice(0, -4)}AAAA`;
    assert.deepEqual(await service.redeem(forged), { ok: false, reason: 'token-unknown' });
  });

  it('expires after its time to live (24 h by default, or as configured)', async () => {
    const issued = await issue();
    const short = await new RegistrationService(unitOfWork, new RegistrationTokenRepository(unitOfWork), clock, settings).issue({ clusterName: 'brief', ttlHours: 1 });
    assert.ok(short.ok);
    clock.offsetMs = 2 * 3_600_000;
    try {
      assert.deepEqual(await service.redeem(short.issued.token), { ok: false, reason: 'token-expired' });
      assert.equal((await service.find(short.issued.registrationId))?.status, 'expired');
      clock.offsetMs = 24 * 3_600_000 + 1_000;
      assert.deepEqual(await service.redeem(issued.token), { ok: false, reason: 'token-expired' });
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('revokes: the token no longer redeems; revoking twice is harmless; a used token cannot be revoked', async () => {
    const issued = await issue();
    const revoked = await service.revoke(issued.registrationId);
    assert.ok(revoked.ok);
    assert.equal(revoked.registration.status, 'revoked');
    assert.deepEqual(await service.redeem(issued.token), { ok: false, reason: 'token-revoked' });
    const again = await service.revoke(issued.registrationId);
    assert.ok(again.ok);
    assert.equal(again.registration.revokedAt, revoked.registration.revokedAt);

    const used = await issue();
    assert.ok((await service.redeem(used.token)).ok);
    assert.deepEqual(await service.revoke(used.registrationId), { ok: false, reason: 'token-used' });
    assert.deepEqual(await service.revoke('00000000-0000-4000-8000-000000000000'), { ok: false, reason: 'token-unknown' });
  });

  it('lets exactly one of several concurrent redeems through', async () => {
    for (let round = 0; round < 10; round += 1) {
      const issued = await issue(`race-${round}`);
      const outcomes = await Promise.all(Array.from({ length: 3 }, () => service.redeem(issued.token)));
      assert.equal(outcomes.filter((outcome) => outcome.ok).length, 1, `round ${round}: ${JSON.stringify(outcomes)}`);
      assert.deepEqual(
        outcomes.filter((outcome) => !outcome.ok),
        [
          { ok: false, reason: 'token-used' },
          { ok: false, reason: 'token-used' },
        ],
      );
    }
  });

  it('cannot issue without a tunnel URL from the request or the configuration', async () => {
    const unconfigured = new RegistrationService(unitOfWork, new RegistrationTokenRepository(unitOfWork), clock, { ...settings, tunnelUrl: undefined });
    assert.deepEqual(await unconfigured.issue({ clusterName: 'edge' }), { ok: false, reason: 'tunnel-url-missing' });
    const named = await unconfigured.issue({ clusterName: 'edge', tunnelUrl: 'https://other-tunnel.example' });
    assert.ok(named.ok);
    assert.match(named.issued.manifest.revealString(), /https:\/\/other-tunnel\.example/);
  });

  describe('over HTTP (RegistrationsController)', () => {
    let app: INestApplication;
    let base: string;
    const api = (path: string, init?: RequestInit) => fetch(`${base}/api/v1/registrations${path}`, init);
    const post = (path: string, body: unknown) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    before(async () => {
      @Module({
        controllers: registrationControllers,
        providers: [{ provide: UnitOfWork, useValue: unitOfWork }, { provide: Clock, useValue: clock }, ...registrationProviders(settings)],
      })
      class RegistrationTestModule {}
      app = await NestFactory.create(RegistrationTestModule, { logger: false });
      await app.listen(0, '127.0.0.1');
      base = await app.getUrl();
      base = base.replace('[::1]', '127.0.0.1');
    });

    after(async () => {
      await app.close();
    });

    it('issues (201, token shown once), shows status without the token, revokes', async () => {
      const response = await post('', { clusterName: 'edge-http', ttlHours: 48 });
      assert.equal(response.status, 201);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const created = (await response.json()) as CreatedRegistration;
      assert.match(created.token, /^flotilla_reg_/);
      assert.ok(Date.parse(created.expiresAt) - Date.now() > 47 * 3_600_000);
      const kinds = parseAllDocuments(created.manifest).map((document) => (document.toJS() as { kind: string }).kind);
      assert.deepEqual(kinds, ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Secret', 'Deployment']);

      const shown = await api(`/${created.registrationId}`);
      assert.equal(shown.status, 200);
      const text = await shown.text();
      assert.ok(!text.includes(created.token));
      assert.equal((JSON.parse(text) as RegistrationView).status, 'pending');

      assert.equal((await api(`/${created.registrationId}`, { method: 'DELETE' })).status, 204);
      assert.equal(((await (await api(`/${created.registrationId}`)).json()) as RegistrationView).status, 'revoked');
      const refused = await post('/redemptions', { token: created.token });
      assert.equal(refused.status, 410);
      assert.equal(((await refused.json()) as { code: string }).code, 'token-revoked');
    });

    it('redeems once over HTTP: 200, then 410 token-used; 404 for an unknown token', async () => {
      const created = (await (await post('', { clusterName: 'edge-redeem' })).json()) as CreatedRegistration;
      const first = await post('/redemptions', { token: created.token });
      assert.equal(first.status, 200);
      assert.equal(((await first.json()) as RegistrationView).clusterId, created.clusterId);
      const second = await post('/redemptions', { token: created.token });
      assert.equal(second.status, 410);
      assert.equal(((await second.json()) as { code: string }).code, 'token-used');
      assert.equal((await api(`/${created.registrationId}`, { method: 'DELETE' })).status, 409);
      const unknown = await post('/redemptions', { token: 'flotilla_reg_unknown' });
      assert.equal(unknown.status, 404);
    });

    it('answers 400 naming each bad field', async () => {
      const cases: [unknown, string[]][] = [
        [{}, ['clusterName']],
        [{ clusterName: '', tunnelUrl: 'http://plain.example', ttlHours: 0 }, ['clusterName', 'tunnelUrl', 'ttlHours']],
        [{ clusterName: 'edge', ttlHours: 1000 }, ['ttlHours']],
        [{ clusterName: 'edge', extra: true }, ['(body)']],
      ];
      for (const [body, fields] of cases) {
        const response = await post('', body);
        assert.equal(response.status, 400, JSON.stringify(body));
        const problems = ((await response.json()) as { errors: { field: string }[] }).errors.map((problem) => problem.field).sort();
        assert.deepEqual(problems, fields.sort(), JSON.stringify(body));
      }
      const badId = await api('/not-a-uuid');
      assert.equal(badId.status, 400);
      assert.deepEqual(((await badId.json()) as { errors: { field: string }[] }).errors.map((problem) => problem.field), ['id']);
      assert.equal((await api('/00000000-0000-4000-8000-000000000000')).status, 404);
    });
  });
});
