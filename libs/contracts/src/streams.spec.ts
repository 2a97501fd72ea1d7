import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_EVENT_BYTES } from './nats-binding.js';
import {
  allEventsSubject,
  auditStreamSettings,
  DEAD_LETTER_HEADERS,
  deadLetterStreamSettings,
  deadLetterSubject,
  DEFAULT_SUBJECT_PREFIX,
  eventsStreamSettings,
  eventsSubject,
  replayStreamSettings,
  streamName,
} from './streams.js';

const naming = { prefix: DEFAULT_SUBJECT_PREFIX };
const MINUTE_NS = 60 * 1_000_000_000;

describe('subjects', () => {
  it('puts events under <prefix>.events.<channel>', () => {
    assert.equal(eventsSubject(naming, 'cluster.requested.v1'), 'flotilla.events.cluster.requested.v1');
    assert.equal(allEventsSubject(naming), 'flotilla.events.>');
  });

  it('puts dead letters under <prefix>.dlq.<consumer>', () => {
    assert.equal(deadLetterSubject(naming, 'provisioner'), 'flotilla.dlq.provisioner');
  });

  it('keeps installations with other prefixes apart', () => {
    const test = { prefix: 'test-42' };
    assert.equal(eventsSubject(test, 'cluster.ready.v1'), 'test-42.events.cluster.ready.v1');
    assert.notEqual(streamName(test, 'events'), streamName(naming, 'events'));
  });
});

describe('stream names', () => {
  it('are the upper-cased prefix and kind', () => {
    assert.equal(streamName(naming, 'events'), 'FLOTILLA_EVENTS');
    assert.equal(streamName(naming, 'dlq'), 'FLOTILLA_DLQ');
  });

  it('replace characters JetStream does not allow in names', () => {
    assert.equal(streamName({ prefix: 'it-run.7' }, 'events'), 'IT_RUN_7_EVENTS');
  });
});

describe('eventsStreamSettings', () => {
  const settings = eventsStreamSettings(naming);

  it('captures every event subject in one limits-retention stream on file', () => {
    assert.equal(settings.name, 'FLOTILLA_EVENTS');
    assert.deepEqual(settings.subjects, ['flotilla.events.>']);
    assert.equal(settings.retention, 'limits');
    assert.equal(settings.storage, 'file');
    assert.equal(settings.discard, 'old');
  });

  it('drops a repeated Nats-Msg-Id within a ten-minute window, shorter than the retention', () => {
    assert.equal(settings.duplicate_window_ns, 10 * MINUTE_NS);
    assert.ok(settings.duplicate_window_ns <= settings.max_age_ns, 'JetStream refuses a duplicate window longer than max_age');
  });

  it('keeps events a week', () => {
    assert.equal(settings.max_age_ns, 7 * 24 * 60 * MINUTE_NS);
  });

  it('stores events up to the decoder limit, so an oversized one is dead-lettered rather than refused', () => {
    assert.ok(settings.max_msg_size >= DEFAULT_MAX_EVENT_BYTES);
  });

  it('uses one replica by default and three on a cluster (R3)', () => {
    assert.equal(settings.num_replicas, 1);
    assert.equal(eventsStreamSettings(naming, { replicas: 3 }).num_replicas, 3);
  });

  it('can keep events in memory (tests)', () => {
    assert.equal(eventsStreamSettings(naming, { storage: 'memory' }).storage, 'memory');
  });
});

describe('deadLetterStreamSettings', () => {
  const settings = deadLetterStreamSettings(naming, { replicas: 3 });

  it('captures every dead-letter subject and keeps letters longer than events', () => {
    assert.equal(settings.name, 'FLOTILLA_DLQ');
    assert.deepEqual(settings.subjects, ['flotilla.dlq.>']);
    assert.equal(settings.num_replicas, 3);
    assert.ok(settings.max_age_ns > eventsStreamSettings(naming).max_age_ns);
  });

  it('has room for a dead letter of an oversized event', () => {
    assert.ok(settings.max_msg_size >= eventsStreamSettings(naming).max_msg_size);
  });

  it('does not overlap the events stream subjects', () => {
    assert.ok(!deadLetterSubject(naming, 'inventory').startsWith(allEventsSubject(naming).slice(0, -1)));
  });
});

describe('replicas', () => {
  const all = [eventsStreamSettings, deadLetterStreamSettings, replayStreamSettings, auditStreamSettings];

  it('are the same configured count for every stream of the bus, one when none is given', () => {
    for (const settings of all) {
      assert.equal(settings(naming, { replicas: 3 }).num_replicas, 3, settings.name);
      assert.equal(settings(naming).num_replicas, 1, settings.name);
    }
  });
});

describe('DEAD_LETTER_HEADERS', () => {
  it('are distinct and do not collide with CloudEvents headers', () => {
    const names = Object.values(DEAD_LETTER_HEADERS);
    assert.equal(new Set(names.map((name) => name.toLowerCase())).size, names.length);
    for (const name of names) assert.ok(!name.toLowerCase().startsWith('ce-'), name);
  });
});
