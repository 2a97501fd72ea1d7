import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deleteTestStreams, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { BusConnection } from '@flotilla/messaging';
import { checkRouteAccess, startTestService, type TestService } from '@flotilla/service-kit/testing';
import { tunnelBrokerService } from '../src/service.js';

describe('tunnel broker: who may do what', () => {
  let service: TestService;

  before(async () => {
    service = await startTestService(tunnelBrokerService);
  });

  after(async () => {
    await service.dispose();
    const bus = await BusConnection.open(TEST_NATS_URL, 'tunnel-broker-access-test');
    await deleteTestStreams(bus.jsm, service.env['BUS_PREFIX']!);
    await bus.drain();
  });

  it('every route declares its role and enforces it; none takes label-scoped tokens', async () => {
    // Valid path parameters, so the allowed call reaches the handler (404: no such session).
    const report = await checkRouteAccess(service, { params: { clusterId: 'edge-access', sessionId: '00000000-0000-4000-8000-000000000000' } });
    const rules = Object.fromEntries(report.routes.filter((route) => route.rule?.kind === 'role').map((route) => [`${route.method} ${route.path}`, route.rule]));
    const role = (name: string) => ({ kind: 'role', role: name, scoped: false });
    assert.deepEqual(rules, {
      'GET /api/v1/tunnels': role('viewer'),
      // The agents' routes: operator until agents get their own certificates.
      'POST /api/v1/tunnels/:clusterId/sessions': role('operator'),
      'POST /api/v1/tunnels/:clusterId/sessions/:sessionId/heartbeat': role('operator'),
      'DELETE /api/v1/tunnels/:clusterId/sessions/:sessionId': role('operator'),
    });
    assert.equal(report.checked, 4);
  });
});
