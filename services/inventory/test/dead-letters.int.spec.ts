import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterRequested, createEvent, DEAD_LETTER_HEADERS, durableName, eventsSubject, replaySubject, streamName } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { inventoryService } from '../src/service.js';
import type { DeadLetterView } from '../src/dead-letters/dead-letter-record.js';
import { refusal, startRefusingConsumer, type RefusingConsumer } from './support/refusing-consumer.js';

interface Page {
  items: DeadLetterView[];
  nextCursor: string | null;
}

describe('inventory: the dead-letter API lists dead letters and replays one to the consumer that refused it', () => {
  let service: TestService;
  let ledger: RefusingConsumer;
  let bus: BusConnection;
  let prefix: string;
  const consumer = durableName('ledger', 'cluster.requested.v1');

  before(async () => {
    service = await startTestService(inventoryService);
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'inventory-dead-letters-int-test');
    ledger = await startRefusingConsumer(prefix);
  });

  after(async () => {
    await ledger.close();
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const api = async (path: string, method = 'GET', role: 'admin' | 'operator' = 'admin') =>
    fetch(`${service.url}${path}`, { method, headers: await service.auth(role) });
  const list = async (query: string): Promise<Page> => {
    const response = await api(`/api/v1/dead-letters${query}`);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as Page;
  };
  /** A platform service outside Flotilla requests a cluster on the bus. */
  const requestCluster = async (id: string) => {
    const spec = ClusterRequested.data.parse({ name: id, model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 1, machineSize: 'small' }, nodePools: [{ name: 'workers', count: 2, machineSize: 'small' }] });
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterRequested.channel), createEvent(ClusterRequested, { subject: id, source: '/platform/catalogue' }, spec));
  };
  const replayed = async () => (await bus.jsm.consumers.info(streamName({ prefix }, 'replay'), consumer)).delivered.consumer_seq;

  it('lists a refused event with its consumer, reason and event; replays it once; a second replay sends nothing', async () => {
    await requestCluster('refused-once');
    const [letter] = (await eventually(async () => {
      const page = await list(`?consumer=${consumer}`);
      return page.items.length > 0 ? page : undefined;
    }, 15_000, 'the dead letter listed')).items;
    assert.ok(letter);
    assert.match(letter.id, /^[1-9][0-9]*$/);
    assert.equal(letter.service, 'ledger');
    assert.equal(letter.consumer, consumer);
    assert.equal(letter.code, 'handler-rejected');
    assert.match(letter.reason, /no capacity configured for model platform-provisioned/);
    assert.equal(letter.event.type, 'io.flotilla.cluster.requested.v1');
    assert.equal(letter.event.subject, 'refused-once');
    assert.match(letter.event.id ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(letter.event.time && !Number.isNaN(Date.parse(letter.event.time)));
    assert.equal(letter.originalSubject, `${prefix}.events.cluster.requested.v1`);
    assert.ok(Date.parse(letter.deadLetteredAt) >= Date.parse(letter.event.time));
    assert.equal(letter.replayedAt, null);
    assert.equal(await ledger.timesHandled('refused-once'), 0);

    // Filters: by service, type and cluster; a filter that matches nothing lists nothing.
    assert.deepEqual((await list('?service=ledger&type=io.flotilla.cluster.requested.v1&clusterId=refused-once')).items.map((item) => item.id), [letter.id]);
    assert.deepEqual((await list('?clusterId=another-cluster')).items, []);
    assert.deepEqual((await list('?service=provisioner')).items, []);

    // The operator fixes what made it fail, then replays it.
    refusal.active = false;
    const first = await api(`/api/v1/dead-letters/${letter.id}/replay`, 'POST');
    assert.equal(first.status, 202, await first.clone().text());
    const answer = (await first.json()) as { status: string; deadLetter: DeadLetterView };
    assert.equal(answer.status, 'replayed');
    assert.equal(answer.deadLetter.id, letter.id);
    assert.ok(answer.deadLetter.replayedAt);
    assert.match(answer.deadLetter.replayedBy ?? '', /.+/);
    await eventually(async () => ((await ledger.timesHandled('refused-once')) === 1 ? true : undefined), 10_000, 'the replayed event handled');

    const second = await api(`/api/v1/dead-letters/${letter.id}/replay`, 'POST');
    assert.equal(second.status, 200);
    const secondAnswer = (await second.json()) as { status: string; deadLetter: DeadLetterView };
    assert.equal(secondAnswer.status, 'already-replayed');
    assert.equal(secondAnswer.deadLetter.replayedAt, answer.deadLetter.replayedAt);
    assert.equal((await list('?replayed=true')).items[0]?.id, letter.id);
    assert.deepEqual((await list('?replayed=false')).items, []);

    // One replay, on the refusing consumer's own replay subject; the events stream, which every
    // other consumer reads, still holds the event once.
    const replayStream = await bus.jsm.streams.info(streamName({ prefix }, 'replay'), { subjects_filter: '>' });
    assert.deepEqual(replayStream.state.subjects, { [replaySubject({ prefix }, consumer)]: 1 });
    const eventsStream = await bus.jsm.streams.info(streamName({ prefix }, 'events'), { subjects_filter: '>' });
    assert.equal(eventsStream.state.subjects?.[eventsSubject({ prefix }, ClusterRequested.channel)], 1);

    // Delivered twice anyway (a copy published again): the consumer's inbox makes the second a no-op.
    const stored = await bus.jsm.streams.getMessage(streamName({ prefix }, 'dlq'), { seq: Number(letter.id) });
    assert.ok(stored);
    stored.header.set(DEAD_LETTER_HEADERS.replayOf, letter.id);
    await bus.js.publish(replaySubject({ prefix }, consumer), stored.data, { headers: stored.header, msgID: 'a-second-copy' });
    await eventually(async () => ((await replayed()) >= 2 ? true : undefined), 10_000, 'the copy delivered');
    await eventually(async () => {
      const info = await bus.jsm.consumers.info(streamName({ prefix }, 'replay'), consumer);
      return info.num_ack_pending === 0 && info.num_pending === 0 ? true : undefined;
    }, 10_000, 'the copy settled');
    assert.equal(await ledger.timesHandled('refused-once'), 1);
  });

  it('answers 410 for a letter the stream no longer keeps, sending nothing', async () => {
    refusal.active = true;
    await requestCluster('refused-then-gone');
    const letter = await eventually(async () => (await list('?clusterId=refused-then-gone')).items[0], 15_000, 'the second dead letter listed');
    await bus.jsm.streams.deleteMessage(streamName({ prefix }, 'dlq'), Number(letter.id));
    refusal.active = false;
    const gone = await api(`/api/v1/dead-letters/${letter.id}/replay`, 'POST');
    assert.equal(gone.status, 410);
    assert.equal(((await gone.json()) as { code: string }).code, 'dead-letter-expired');
    assert.equal((await list('?clusterId=refused-then-gone')).items[0]?.replayedAt, null);
    assert.equal(await ledger.timesHandled('refused-then-gone'), 0);
  });

  it('answers 404 for an unknown letter, 400 naming a bad id or filter, 403 below admin', async () => {
    assert.equal((await api('/api/v1/dead-letters/999999/replay', 'POST')).status, 404);
    const badId = await api('/api/v1/dead-letters/abc/replay', 'POST');
    assert.equal(badId.status, 400);
    assert.match(await badId.text(), /dead letter/);
    const badLimit = await api('/api/v1/dead-letters?limit=0');
    assert.equal(badLimit.status, 400);
    assert.match(await badLimit.text(), /limit/);
    assert.equal((await api('/api/v1/dead-letters', 'GET', 'operator')).status, 403);
    assert.equal((await api('/api/v1/dead-letters/1/replay', 'POST', 'operator')).status, 403);
  });
});
