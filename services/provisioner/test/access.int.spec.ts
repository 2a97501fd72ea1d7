import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deleteTestStreams, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { BusConnection } from '@flotilla/messaging';
import { checkRouteAccess, startTestService, type TestService } from '@flotilla/service-kit/testing';
import { provisionerService } from '../src/service.js';

describe('provisioner: who may do what', () => {
  let service: TestService;

  before(async () => {
    service = await startTestService(provisionerService);
  });

  after(async () => {
    await service.dispose();
    const bus = await BusConnection.open(TEST_NATS_URL, 'provisioner-access-test');
    await deleteTestStreams(bus.jsm, service.env['BUS_PREFIX']!);
    await bus.drain();
  });

  it('every route declares its role and enforces it', async () => {
    const report = await checkRouteAccess(service, { params: { port: '22' } });
    const rules = Object.fromEntries(report.routes.map((route) => [`${route.method} ${route.path}`, route.rule?.kind === 'role' ? `${route.rule.role}${route.rule.scoped ? ' scoped' : ''}` : route.rule?.kind]));
    // Secrets and what reaches users' hosts or management clusters are for admins; reading for viewers.
    assert.deepEqual(
      Object.fromEntries(Object.entries(rules).filter(([route]) => route.includes('/api/'))),
      {
        'GET /api/v1/provisioner/clusters/:id': 'viewer',
        'GET /api/v1/provisioner/clusters/:id/kubeconfig': 'operator scoped',
        'GET /api/v1/hosted-control-planes/savings': 'viewer',
        'GET /api/v1/hosted-control-planes/:clusterId': 'viewer',
        'POST /api/v1/management-clusters': 'admin',
        'GET /api/v1/management-clusters': 'viewer',
        'PATCH /api/v1/management-clusters/:name': 'admin',
        'POST /api/v1/ssh-keys': 'admin',
        'GET /api/v1/ssh-keys': 'admin',
        'DELETE /api/v1/ssh-keys/:ref': 'admin',
        'GET /api/v1/provisioner/clusters/:id/hosts': 'viewer',
        'DELETE /api/v1/provisioner/host-keys/:address/:port': 'admin',
      },
    );
    assert.equal(report.checked, 12);
  });
});
