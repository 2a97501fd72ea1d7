import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, it, mock } from 'node:test';
import { ClusterReady, EventRejected, ImportRejected } from '@flotilla/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import type { OutboxRow } from './outbox/outbox-store.js';
import { EventTooLargeError, isPermanent } from './errors.js';
import { UnitOfWork } from './unit-of-work.js';

// emit() only records rows in the transaction's scope: no database is touched.
async function emitIn(service: string, emit: (unitOfWork: UnitOfWork) => void): Promise<OutboxRow[]> {
  const unitOfWork = new UnitOfWork({} as DataSource, { service, prefix: 't' });
  const pending: OutboxRow[] = [];
  await unitOfWork.withManager({} as EntityManager, pending, () => Promise.resolve(emit(unitOfWork)));
  return pending;
}

describe('UnitOfWork.emit and the catalogue', () => {
  it('emits what the catalogue lists the service as producing', async () => {
    const rows = await emitIn('importer', (unitOfWork) => {
      unitOfWork.emit(ImportRejected, 'c-1', { reasons: [{ code: 'unreachable', message: 'no answer' }] });
    });
    assert.deepEqual(
      rows.map((row) => row.subject),
      ['t.events.cluster.import-rejected.v1'],
    );
  });

  it("refuses an event the service is not declared to produce, naming the event's producers", async () => {
    await assert.rejects(
      emitIn('inventory', (unitOfWork) => unitOfWork.emit(ClusterReady, 'c-1', { model: 'platform-provisioned', kubernetesVersion: '1.31.2', nodeCount: 1 })),
      /inventory may not emit ClusterReady: the event catalogue \(libs\/contracts\) lists its producers as provisioner, importer/,
    );
  });

  it('lets every service emit EventRejected, and leaves processes that are not Flotilla services unchecked', async () => {
    const notice = { rejectedEventId: 'x', code: 'unparseable', reason: 'bad', consumer: 'c', deadLetterSubject: 't.dlq.c' } as const;
    assert.equal((await emitIn('tunnel-broker', (unitOfWork) => unitOfWork.emit(EventRejected, 'unknown', notice))).length, 1);
    assert.equal((await emitIn('ledger', (unitOfWork) => unitOfWork.emit(ClusterReady, 'c-1', { model: 'platform-provisioned', kubernetesVersion: '1.31.2', nodeCount: 1 }))).length, 1);
  });
});

describe('UnitOfWork.emit and the size of events', () => {
  const notice = (reasonBytes: number) => ({ rejectedEventId: 'x', code: 'unparseable', reason: 'r'.repeat(reasonBytes), consumer: 'c', deadLetterSubject: 't.dlq.c' }) as const;

  it('refuses an event over the limit consumers admit, with a permanent, named error', async () => {
    const refusal = await emitIn('inventory', (unitOfWork) => unitOfWork.emit(EventRejected, 'unknown', notice(256 * 1024))).then(
      () => assert.fail('expected a refusal'),
      (error: unknown) => error,
    );
    assert.ok(refusal instanceof EventTooLargeError);
    assert.ok(isPermanent(refusal), 'dead-lettered, never retried');
    assert.equal(refusal.code, 'event-too-large');
    assert.match(refusal.message, /EventRejected is \d+ bytes, over the bus's limit of 262144 bytes per event/);
  });

  it('takes an event just under it', async () => {
    assert.equal((await emitIn('inventory', (unitOfWork) => unitOfWork.emit(EventRejected, 'unknown', notice(250 * 1024)))).length, 1);
  });
});

describe('UnitOfWork at shutdown', () => {
  it('stops its storage following async work once the app is shut down, and works again when asked', async () => {
    const disable = mock.method(AsyncLocalStorage.prototype, 'disable');
    try {
      const unitOfWork = new UnitOfWork({} as DataSource, { service: 'importer', prefix: 't' });
      unitOfWork.onApplicationShutdown();
      assert.equal(disable.mock.callCount(), 1);
      const pending: OutboxRow[] = [];
      await unitOfWork.withManager({} as EntityManager, pending, async () => {
        await Promise.resolve();
        unitOfWork.emit(ImportRejected, 'c-1', { reasons: [{ code: 'unreachable', message: 'no answer' }] });
      });
      assert.equal(pending.length, 1);
    } finally {
      disable.mock.restore();
    }
  });
});
