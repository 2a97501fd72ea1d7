import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deleteTestStreams, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { BusConnection } from '@flotilla/messaging';
import { checkRouteAccess, startTestService, type TestService } from '@flotilla/service-kit/testing';
import { tunnelBrokerService } from '../src/service.js';

describe('tunnel broker: who may do what', () => {
  let service: TestService;

  before(async () => {
    service = await startTestService(tunnelBrokerService, { TUNNEL_AGENT_PORT: '0' });
  });

  after(async () => {
    await service.dispose();
    const bus = await BusConnection.open(TEST_NATS_URL, 'tunnel-broker-access-test');
    await deleteTestStreams(bus.jsm, service.env['BUS_PREFIX']!);
    await bus.drain();
  });

  it('every route declares its role and enforces it; the proxy takes label-scoped tokens, the rest does not', async () => {
    // A cluster no tunnel knows: the allowed call reaches the proxy, which answers 404.
    const report = await checkRouteAccess(service, { params: { clusterId: 'edge-access', path: 'version' } });
    const rules = Object.fromEntries(report.routes.filter((route) => route.rule?.kind === 'role').map((route) => [`${route.method} ${route.path}`, route.rule]));
    const role = (name: string, scoped = false) => ({ kind: 'role', role: name, scoped });
    assert.deepEqual(rules, {
      'GET /api/v1/tunnels': role('viewer'),
      'GET /api/v1/tunnels/:clusterId/k8s/*path': role('viewer', true),
      'POST /api/v1/tunnels/:clusterId/k8s/*path': role('operator', true),
      'PUT /api/v1/tunnels/:clusterId/k8s/*path': role('operator', true),
      'PATCH /api/v1/tunnels/:clusterId/k8s/*path': role('operator', true),
      'DELETE /api/v1/tunnels/:clusterId/k8s/*path': role('operator', true),
    });
    const publicRoutes = report.routes.filter((route) => route.rule?.kind === 'public' && route.path.startsWith('/api/')).map((route) => `${route.method} ${route.path}`);
    assert.deepEqual(publicRoutes, ['POST /api/v1/tunnels/enrollments'], 'the registration token in the body is its credential');
  });
});
