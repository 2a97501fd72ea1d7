import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deleteTestStreams, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { BusConnection } from '@flotilla/messaging';
import { checkRouteAccess, startTestService, type TestService } from '@flotilla/service-kit/testing';
import { upgradePlannerService } from '../src/service.js';

describe('upgrade planner: who may do what', () => {
  let service: TestService;

  before(async () => {
    service = await startTestService(upgradePlannerService);
  });

  after(async () => {
    await service.dispose();
    const bus = await BusConnection.open(TEST_NATS_URL, 'upgrade-planner-access-test');
    await deleteTestStreams(bus.jsm, service.env['BUS_PREFIX']!);
    await bus.drain();
  });

  it('every route declares its role and enforces it; none takes label-scoped tokens', async () => {
    const report = await checkRouteAccess(service);
    const rules = Object.fromEntries(report.routes.filter((route) => route.rule?.kind === 'role').map((route) => [`${route.method} ${route.path}`, route.rule]));
    const role = (name: string) => ({ kind: 'role', role: name, scoped: false });
    assert.deepEqual(rules, {
      'GET /api/v1/fleet': role('viewer'),
      'GET /api/v1/fleet/:id': role('viewer'),
      'GET /api/v1/upgrade-plans': role('viewer'),
      'GET /api/v1/upgrade-plans/:id': role('viewer'),
      'GET /api/v1/upgrade-plans/:id/table': role('viewer'),
      'GET /api/v1/upgrade-plans/:id/revisions': role('viewer'),
      'POST /api/v1/upgrade-plans': role('operator'),
      'POST /api/v1/upgrade-plans/:id/close': role('operator'),
      'GET /api/v1/support-matrix': role('viewer'),
      'PUT /api/v1/support-matrix': role('admin'),
      'PUT /api/v1/support-matrix/platform-release': role('admin'),
    });
    assert.equal(report.checked, 11);
  });
});
