import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEAD_LETTER_HEADERS } from '@flotilla/contracts';
import { describeDeadLetter, serviceOfConsumer, viewOf } from './dead-letter-record.js';

const headers = (values: Record<string, string>) => ({ get: (name: string) => values[name] ?? '' });
const AT = new Date('2026-12-06T10:00:00.000Z');

describe('describeDeadLetter', () => {
  it('reads a binary-mode letter: the rejection from its headers, the event from its ce- headers', () => {
    const row = describeDeadLetter(
      42,
      'flotilla.dlq.provisioner__cluster_requested_v1',
      headers({
        'ce-id': 'e-1',
        'ce-type': 'io.flotilla.cluster.requested.v1',
        'ce-subject': 'c-1',
        'ce-time': '2026-12-06T09:59:00Z',
        [DEAD_LETTER_HEADERS.consumer]: 'provisioner__cluster_requested_v1',
        [DEAD_LETTER_HEADERS.code]: 'handler-rejected',
        [DEAD_LETTER_HEADERS.reason]: 'no capacity',
        [DEAD_LETTER_HEADERS.deliveries]: '3',
        [DEAD_LETTER_HEADERS.originalSubject]: 'flotilla.events.cluster.requested.v1',
      }),
      new TextEncoder().encode('{}'),
      AT,
    );
    assert.deepEqual(viewOf({ ...row, replayed_at: null, replayed_by: null }), {
      id: '42',
      service: 'provisioner',
      consumer: 'provisioner__cluster_requested_v1',
      code: 'handler-rejected',
      reason: 'no capacity',
      deliveries: 3,
      event: { id: 'e-1', type: 'io.flotilla.cluster.requested.v1', subject: 'c-1', time: '2026-12-06T09:59:00.000Z' },
      originalSubject: 'flotilla.events.cluster.requested.v1',
      deadLetteredAt: AT.toISOString(),
      replayedAt: null,
      replayedBy: null,
    });
  });

  it('reads a structured-mode letter from its payload, and says little of one it cannot read', () => {
    const structured = describeDeadLetter(
      7,
      'flotilla.dlq.inventory__all',
      headers({ 'content-type': 'application/cloudevents+json; charset=utf-8', [DEAD_LETTER_HEADERS.consumer]: 'inventory__all', [DEAD_LETTER_HEADERS.code]: 'schema-invalid' }),
      new TextEncoder().encode(JSON.stringify({ id: 'e-2', type: 'io.flotilla.cluster.ready.v1', subject: 'c-2', time: 'not a time', data: {} })),
      AT,
    );
    assert.deepEqual([structured.event_id, structured.event_type, structured.event_subject, structured.event_time], ['e-2', 'io.flotilla.cluster.ready.v1', 'c-2', null]);
    assert.equal(structured.service, 'inventory');

    const unreadable = describeDeadLetter(8, 'flotilla.dlq.importer__all', headers({}), new TextEncoder().encode('\u0000'), AT);
    assert.deepEqual([unreadable.consumer, unreadable.service, unreadable.code, unreadable.event_id, unreadable.deliveries], ['importer__all', 'importer', 'unknown', null, null]);
  });

  it('names the service of a durable by its prefix', () => {
    assert.equal(serviceOfConsumer('upgrade-planner__cluster_ready_v1'), 'upgrade-planner');
    assert.equal(serviceOfConsumer('odd'), 'odd');
  });
});
