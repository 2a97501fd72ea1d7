import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterDeletionRequested, createEvent, eventsSubject, streamName } from '@flotilla/contracts';
import { BusConnection, busOptions, ensureStreams, EventIdConflictError, publishEvent } from '../src/index.js';
import { deleteTestStreams, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix } from '../src/testing/index.js';

describe('publishing an event id twice', () => {
  const prefix = testBusPrefix();
  let bus: BusConnection;

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'publisher-test');
    await ensureStreams(bus.jsm, busOptions({ service: 'publisher-test', prefix, streamMaxBytes: TEST_STREAM_MAX_BYTES }));
  });

  after(async () => {
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const subject = eventsSubject({ prefix }, ClusterDeletionRequested.channel);
  const event = (reason: string, id = 'same-id-1') => ({ ...createEvent(ClusterDeletionRequested, { subject: 'c-1', source: '/tests' }, { reason }), id });

  it('is a duplicate when the event is the same (a retry), and the stream keeps one copy', async () => {
    await publishEvent(bus.js, subject, event('moved', 'retry-1'));
    const again = await publishEvent(bus.js, subject, { ...event('moved', 'retry-1'), time: new Date(Date.now() + 1000).toISOString() });
    assert.equal(again.duplicate, true);
    assert.equal((await bus.jsm.streams.info(streamName({ prefix }, 'events'))).state.messages, 1);
  });

  it('is refused, naming the id, when another event reuses it: never a silent drop', async () => {
    await publishEvent(bus.js, subject, event('first'));
    await assert.rejects(publishEvent(bus.js, subject, event('something else')), (error: Error) => error instanceof EventIdConflictError && /same-id-1/.test(error.message));
    await assert.rejects(publishEvent(bus.js, subject, { ...event('first'), subject: 'c-2' }), EventIdConflictError);
  });
});
