import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterDeletionRequested, eventsSubject, streamName } from '@flotilla/contracts';
import { JetStreamApiError } from '@nats-io/jetstream';
import { headers, NoRespondersError, TimeoutError } from '@nats-io/transport-node';
import { AckedPublisher, BusConnection, busOptions, ensureStreams } from '../src/index.js';
import { deleteTestStreams, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix } from '../src/testing/index.js';

describe('AckedPublisher: JetStream publishes awaiting their acks on one reply subscription', () => {
  const prefix = testBusPrefix();
  const options = busOptions({ service: 'acked-publisher-test', prefix, streamMaxBytes: TEST_STREAM_MAX_BYTES });
  const subject = eventsSubject({ prefix }, ClusterDeletionRequested.channel);
  const stream = streamName({ prefix }, 'events');
  let bus: BusConnection;

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'acked-publisher-test');
    await ensureStreams(bus.jsm, options);
  });

  after(async () => {
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('answers each publish with its own ack, in stream order, with JetStream de-duplicating on the message id', async () => {
    const publishes = Array.from({ length: 500 }, (_, index) => bus.publisher.publish(subject, `{"n":${index}}`, { msgID: `many-${index}`, headers: headers() }));
    const acks = await Promise.all(publishes);
    assert.ok(acks.every((ack) => ack.stream === stream && !ack.duplicate));
    const seqs = acks.map((ack) => ack.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(new Set(seqs).size, 500);

    const again = await bus.publisher.publish(subject, '{"n":7}', { msgID: 'many-7', headers: headers() });
    assert.equal(again.duplicate, true);
    assert.equal(again.seq, acks[7]!.seq);
    const stored = await bus.jsm.streams.getMessage(stream, { seq: acks[7]!.seq });
    assert.equal(stored?.header?.get('Nats-Msg-Id'), 'many-7');
    assert.equal((await bus.jsm.streams.info(stream)).state.messages, 500);
  });

  it("rejects with JetStream's own error when the stream refuses the message (over its message size)", async () => {
    const small = `${prefix}_SMALL`;
    await bus.jsm.streams.add({ name: small, subjects: [`${prefix}.small`], max_msg_size: 1024, max_bytes: 1024 * 1024 });
    try {
      const refused = bus.publisher.publish(`${prefix}.small`, 'x'.repeat(2048), { msgID: 'too-large', headers: headers() });
      await assert.rejects(refused, (error: unknown) => error instanceof JetStreamApiError && error.code === 10054);
    } finally {
      await bus.jsm.streams.delete(small);
    }
  });

  it('rejects when no stream takes the subject (no responders)', async () => {
    await assert.rejects(bus.publisher.publish(`${prefix}.nowhere`, '{}', { msgID: 'nowhere', headers: headers() }), NoRespondersError);
  });

  it('rejects a publish nobody acknowledges once its time is up, and later ones still get theirs', async () => {
    const silent = bus.nc.subscribe(`${prefix}.silent`, { callback: () => undefined });
    const impatient = new AckedPublisher(bus.nc, '_INBOX', 300);
    try {
      const started = Date.now();
      await assert.rejects(impatient.publish(`${prefix}.silent`, '{}', { msgID: 'silent', headers: headers() }), TimeoutError);
      assert.ok(Date.now() - started >= 250);
      const ack = await impatient.publish(subject, '{}', { msgID: 'after-timeout', headers: headers() });
      assert.equal(ack.stream, stream);
    } finally {
      silent.unsubscribe();
    }
  });
});
