import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deleteTestStreams, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { BusConnection } from '@flotilla/messaging';
import { checkRouteAccess, startTestService, type TestService } from '@flotilla/service-kit/testing';
import { inventoryService } from '../src/service.js';

describe('inventory: who may do what', () => {
  let service: TestService;

  before(async () => {
    service = await startTestService(inventoryService);
  });

  after(async () => {
    await service.dispose();
    const bus = await BusConnection.open(TEST_NATS_URL, 'inventory-access-test');
    await deleteTestStreams(bus.jsm, service.env['BUS_PREFIX']!);
    await bus.drain();
  });

  it('every route declares its role and enforces it', async () => {
    const report = await checkRouteAccess(service);
    assert.ok(report.checked >= 6, `checked ${report.checked} routes`);
  });
});
