import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterImportRequested, type AuditRecord } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { checkRouteAccess, startTestService, type TestService } from '@flotilla/service-kit/testing';
import pg from 'pg';
import { importerService } from '../src/service.js';
import { importerClient, importerTestEnv, waitForEvents } from './support/importer-client.js';

describe('importer: who may do what', () => {
  let service: TestService;
  let bus: BusConnection;
  let http: ReturnType<typeof importerClient>;

  before(async () => {
    service = await startTestService(importerService, importerTestEnv());
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-access-test');
    http = importerClient(service);
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, service.env['BUS_PREFIX']!);
    await bus.drain();
  });

  it('every route declares its role and enforces it', async () => {
    const report = await checkRouteAccess(service);
    const rules = Object.fromEntries(report.routes.filter((route) => route.path.includes('/api/')).map((route) => [`${route.method} ${route.path}`, route.rule?.kind === 'role' ? `${route.rule.role}${route.rule.scoped ? ' scoped' : ''}` : route.rule?.kind]));
    // Credentials (listing and describing included) and cloud accounts are for admins only.
    assert.deepEqual(rules, {
      'GET /api/v1/connected-clusters': 'viewer',
      'GET /api/v1/connected-clusters/:id': 'viewer',
      // A kubeconfig carries the caller's token to the proxies: operators; reading through the importer's proxy: viewers (secrets: operators).
      'GET /api/v1/connected-clusters/:id/kubeconfig': 'operator',
      'GET /api/v1/connected-clusters/:id/k8s/*path': 'viewer',
      'POST /api/v1/connected-clusters/:id/k8s/*path': 'operator',
      'PUT /api/v1/connected-clusters/:id/k8s/*path': 'operator',
      'PATCH /api/v1/connected-clusters/:id/k8s/*path': 'operator',
      'DELETE /api/v1/connected-clusters/:id/k8s/*path': 'operator',
      // Adoption hands an imported cloud cluster's lifecycle to Flotilla.
      'POST /api/v1/connected-clusters/:id/adoption': 'operator',
      'POST /api/v1/imports': 'operator scoped',
      'POST /api/v1/credentials': 'admin',
      'GET /api/v1/credentials': 'admin',
      'GET /api/v1/credentials/:ref': 'admin',
      'DELETE /api/v1/credentials/:ref': 'admin',
      'GET /api/v1/cloud-accounts/:credentialRef/clusters': 'admin',
      'POST /api/v1/registrations': 'operator scoped',
      'GET /api/v1/registrations/:id': 'viewer',
      'DELETE /api/v1/registrations/:id': 'operator',
    });
    assert.equal(report.checked, 18);
  });

  it('a label-scoped operator imports only clusters carrying its labels', async () => {
    const scoped = await service.auth('operator', { subject: 'team-a-ci', scope: { labels: { team: 'a' } } });
    const request = (id: string, labels?: Record<string, string>) => ({ id, name: id, apiServer: 'https://scoped.example:6443', credentialRef: 'none-yet', provider: 'cncf', ...(labels ? { labels } : {}) });

    for (const [id, labels] of [
      ['scoped-unlabelled', undefined],
      ['scoped-other-team', { team: 'b' }],
      ['scoped-wrong-key', { owner: 'a' }],
    ] as const) {
      const refused = await http.post(request(id, labels), scoped);
      assert.equal(refused.status, 403, id);
      const body = (await refused.json()) as { message: string };
      assert.match(body.message, new RegExp(`team-a-ci may act only on clusters labelled team=a; cluster "${id}" is not one`));
      assert.equal(await http.cluster(id), undefined, `${id}: nothing recorded`);
    }

    const accepted = await http.post(request('scoped-team-a', { team: 'a', env: 'prod' }), scoped);
    assert.equal(accepted.status, 202, await accepted.text());
    const [requested] = await waitForEvents(bus, service.env['BUS_PREFIX']!, ClusterImportRequested, 'scoped-team-a');
    assert.deepEqual(requested?.data.labels, { team: 'a', env: 'prod' }, 'the labels travel with the request');
    // An operator for the whole fleet needs no labels.
    assert.equal((await http.post(request('fleet-wide'), await service.auth('operator'))).status, 202);

    // The refusals are in the audit trail, with the caller and the cluster.
    const client = new pg.Client({ connectionString: service.env['DATABASE_URL'] });
    await client.connect();
    try {
      // Written as each response finishes: wait for all five.
      const seen = await eventually(
        async () => {
          const { rows } = await client.query<{ record: AuditRecord }>(`SELECT record FROM "${service.env['DATABASE_SCHEMA']}".audit_records WHERE record->>'route' = '/api/v1/imports' ORDER BY time`);
          return rows.length >= 5 ? rows.map(({ record }) => [record.clusterId, record.subject, record.result]) : undefined;
        },
        5_000,
        'the audit records of the imports',
      );
      for (const id of ['scoped-unlabelled', 'scoped-other-team', 'scoped-wrong-key']) assert.ok(seen.some(([clusterId, subject, result]) => clusterId === id && subject === 'team-a-ci' && result === 'refused'), `${id} refused in ${JSON.stringify(seen)}`);
      assert.ok(seen.some(([clusterId, , result]) => clusterId === 'scoped-team-a' && result === 'ok'));
    } finally {
      await client.end();
    }
  });
});
