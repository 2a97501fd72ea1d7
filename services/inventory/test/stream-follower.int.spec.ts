import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { BusConnection } from '@flotilla/messaging';
import { eventually, randomSuffix, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { StreamFollower } from '../src/streams/stream-follower.js';

/*
 * The inventory's followers of the audit and dead-letter streams on a real NATS: a consumer
 * deleted behind their back, or a stream that is not there yet, is followed again once it can
 * be, and nothing is lost or takes the service down.
 */
describe('StreamFollower: following a stream through what JetStream does to it', () => {
  let bus: BusConnection;
  const stream = `follower_${randomSuffix()}`;
  const subject = `${stream}.records`;
  const followed = { stream, durable: 'inventory-follower', filterSubject: `${stream}.>`, what: 'record' };
  const logger = new Logger('StreamFollowerTest');

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'stream-follower-test');
  });

  after(async () => {
    await bus.jsm.streams.delete(stream).catch(() => undefined);
    await bus.drain();
  });

  it('waits for a stream that is not there yet, follows it, and opens its consumer again when it is deleted', async () => {
    const stored: string[] = [];
    const follower = new StreamFollower(bus, followed, async (message) => void stored.push(message.string()), logger);
    follower.start();
    try {
      // Nothing to follow yet: the follower keeps trying instead of failing.
      await new Promise((resolve) => setTimeout(resolve, 600));
      await bus.jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
      await bus.js.publish(subject, 'one');
      await eventually(() => (stored.includes('one') ? true : undefined), 10_000, 'the first record stored');

      await bus.jsm.consumers.delete(stream, followed.durable);
      await bus.js.publish(subject, 'two');
      await eventually(() => (stored.includes('two') ? true : undefined), 20_000, 'a record after the consumer was deleted');
      assert.ok((await bus.jsm.consumers.info(stream, followed.durable)).config.durable_name === followed.durable, 'the consumer is back');
    } finally {
      await follower.stop();
    }
  });
});
