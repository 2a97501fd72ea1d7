import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterDeletionRequested, createEvent, eventsSubject, streamName } from '@flotilla/contracts';
import { InvalidArgumentError } from '@nats-io/transport-node';
import { BusConnection, busOptions, ensureStreams, EventIdConflictError, publishEvent } from '../src/index.js';
import { publishEncoded } from '../src/publisher.js';
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

describe("a published message's headers", () => {
  const prefix = testBusPrefix();
  let bus: BusConnection;
  const subject = eventsSubject({ prefix }, ClusterDeletionRequested.channel);
  const stream = streamName({ prefix }, 'events');
  const messages = async () => (await bus.jsm.streams.info(stream)).state.messages;

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'publisher-headers-test');
    await ensureStreams(bus.jsm, busOptions({ service: 'publisher-headers-test', prefix, streamMaxBytes: TEST_STREAM_MAX_BYTES }));
  });

  after(async () => {
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it("are the message's own, values trimmed, the message id the event id, and no trace context but the send span's", async () => {
    const headers = { 'ce-id': 'h-1', 'ce-type': ' io.flotilla.test.v1 ', 'Nats-Msg-Id': 'not-this-one', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'content-type': 'application/json' };
    const ack = await publishEncoded(bus.js, { subject, eventId: 'h-1', headers, payload: '{}' });
    const stored = await bus.jsm.streams.getMessage(stream, { seq: ack.seq });
    const received = Object.fromEntries([...(stored?.header ?? [])].map(([key, values]) => [key, values]));
    // No OpenTelemetry SDK here: the send span is not recorded and injects nothing.
    assert.deepEqual(received, { 'ce-id': ['h-1'], 'ce-type': ['io.flotilla.test.v1'], 'content-type': ['application/json'], 'Nats-Msg-Id': ['h-1'] });
  });

  it('are refused as the NATS client refuses them, before anything is sent', async () => {
    const stored = await messages();
    const refused: Record<string, string>[] = [{ 'ce-subject': 'c-1\r\nce-type: forged' }, { 'ce-subject': 'c-1\n' }, { 'bad:name': 'x' }, { 'bad name': 'x' }, { 'naïve': 'x' }];
    for (const headers of refused) {
      await assert.rejects(publishEncoded(bus.js, { subject, eventId: 'h-2', headers, payload: '{}' }), InvalidArgumentError, JSON.stringify(headers));
    }
    assert.equal(await messages(), stored);
  });
});
