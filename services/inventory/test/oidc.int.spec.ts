import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OidcStandIn } from '@flotilla/auth/testing';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { inventoryService } from '../src/service.js';

describe('inventory with an OIDC issuer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inventory-oidc-'));
  let issuer: OidcStandIn;
  let service: TestService;

  before(async () => {
    issuer = await OidcStandIn.start();
    writeFileSync(join(dir, 'issuer-ca.pem'), issuer.ca);
    service = await startTestService(inventoryService, {
      OIDC_ISSUER_URL: issuer.issuer,
      OIDC_AUDIENCE: 'flotilla',
      OIDC_GROUPS: 'platform-viewers:viewer,team-a-ops:operator:team=a',
      OIDC_CA_FILE: join(dir, 'issuer-ca.pem'),
    });
  });

  after(async () => {
    await service.dispose();
    await issuer.stop();
    rmSync(dir, { recursive: true, force: true });
    const bus = await BusConnection.open(TEST_NATS_URL, 'inventory-oidc-test');
    await deleteTestStreams(bus.jsm, service.env['BUS_PREFIX']!);
    await bus.drain();
  });

  const call = (token: string, path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${service.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const cluster = (id: string, team: string) => ({ id, name: id, labels: { team }, model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 1, machineSize: 'small' } });

  it('accepts its tokens with the role and scope their groups grant, as a real service does', async () => {
    for (const [id, team] of [['oidc-a', 'a'], ['oidc-b', 'b']] as const) {
      assert.equal((await call(service.adminToken, '/api/v1/clusters', { method: 'POST', body: cluster(id, team) })).status, 202);
    }
    const viewer = await issuer.token({ sub: 'vera', aud: 'flotilla', groups: ['platform-viewers'] });
    const all = (await (await call(viewer, '/api/v1/clusters')).json()) as { items: { id: string }[] };
    assert.deepEqual(all.items.map((item) => item.id), ['oidc-a', 'oidc-b']);
    assert.equal((await call(viewer, '/api/v1/clusters', { method: 'POST', body: cluster('oidc-c', 'a') })).status, 403);

    const teamA = await issuer.token({ sub: 'otto', aud: 'flotilla', groups: ['team-a-ops'] });
    const mine = (await (await call(teamA, '/api/v1/clusters')).json()) as { items: { id: string }[] };
    assert.deepEqual(mine.items.map((item) => item.id), ['oidc-a']);
    assert.equal((await call(teamA, '/api/v1/clusters/oidc-b', { method: 'DELETE' })).status, 403);
    assert.equal((await call(teamA, '/api/v1/clusters', { method: 'POST', body: cluster('oidc-a2', 'a') })).status, 202);
  });

  it('refuses its tokens for another audience, from an unpublished key, or with no mapped group', async () => {
    for (const [what, token, status] of [
      ['another audience', await issuer.token({ sub: 'x', aud: 'grafana', groups: ['platform-viewers'] }), 401],
      ['an unpublished key', await issuer.token({ sub: 'x', aud: 'flotilla', groups: ['platform-viewers'] }, { unpublished: true }), 401],
      ['no mapped group', await issuer.token({ sub: 'x', aud: 'flotilla', groups: ['strangers'] }), 403],
    ] as const) {
      assert.equal((await call(token, '/api/v1/clusters')).status, status, what);
    }
  });

  it('records who did what under their OIDC subject and issuer', async () => {
    const records = await (async () => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const answer = (await (await call(service.adminToken, '/api/v1/audit?subject=otto')).json()) as { items: { issuer?: string; method: string; result: string }[] };
        if (answer.items.length >= 2) return answer.items;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return [];
    })();
    assert.ok(records.some((record) => record.method === 'POST' && record.result === 'ok' && record.issuer === issuer.issuer));
    assert.ok(records.some((record) => record.method === 'DELETE' && record.result === 'refused'));
  });
});
