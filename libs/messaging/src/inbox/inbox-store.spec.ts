import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventDigest } from './inbox-store.js';

const base = { type: 'io.flotilla.cluster.deleted.v1', source: '/flotilla/provisioner', subject: 'c-1', data: { model: 'connected', labels: { a: '1', b: '2' } } };

describe('eventDigest: what makes a redelivery the same event', () => {
  const same: [string, typeof base][] = [
    ['the same event', { ...base }],
    ['keys in another order', { subject: 'c-1', data: { labels: { b: '2', a: '1' }, model: 'connected' }, source: '/flotilla/provisioner', type: base.type }],
  ];
  for (const [name, event] of same) it(`equal for ${name}`, () => assert.equal(eventDigest(event), eventDigest(base)));

  const different: [string, typeof base][] = [
    ['another subject', { ...base, subject: 'c-2' }],
    ['another source', { ...base, source: '/elsewhere' }],
    ['another type', { ...base, type: 'io.flotilla.cluster.ready.v1' }],
    ['another data value', { ...base, data: { ...base.data, labels: { a: '1', b: '3' } } }],
    ['a value moved between keys', { ...base, data: { ...base.data, labels: { a: '2', b: '1' } } }],
  ];
  for (const [name, event] of different) it(`differs for ${name}`, () => assert.notEqual(eventDigest(event), eventDigest(base)));

  it('keeps the text it hashes: digests already stored stay comparable', () => {
    const nested = { ...base, data: { model: 'connected', labels: { a: '1', b: '2' }, list: [1, null, { z: 'é"', y: undefined, x: [true, 1.5e21] }], n: -0.1 } };
    assert.equal(eventDigest(nested), 'tyMH-kAEXB7jM457hqrlWELtQv2tF7lU45TGYT9hSi8');
  });
});
