import assert from 'node:assert/strict';
import { hash } from 'node:crypto';
import { describe, it } from 'node:test';
import { eventDigest } from './inbox-store.js';

const base = { type: 'io.flotilla.cluster.deleted.v1', source: '/flotilla/provisioner', subject: 'c-1', data: { model: 'connected', labels: { a: '1', b: '2' } } };

describe('eventDigest: what makes a redelivery the same event', () => {
  const same: [string, typeof base][] = [
    ['the same event', { ...base }],
    ['keys in another order', { subject: 'c-1', data: { labels: { b: '2', a: '1' }, model: 'connected' }, source: '/flotilla/provisioner', type: base.type }],
  ];
  const many = (order: number[]) => ({ ...base, data: Object.fromEntries(order.map((n) => [`k${n}`, n])) });
  const forty = Array.from({ length: 40 }, (_, n) => n);
  it('equal for many keys in another order', () => assert.equal(eventDigest(many(forty.toReversed())), eventDigest(many(forty))));
  it('orders keys by UTF-16 code units, as `<` does', () => {
    const keys = ['b', 'B', 'é', '10', '9', 'a_', 'a'];
    const record = (list: string[]) => ({ ...base, data: Object.fromEntries(list.map((key) => [key, 1])) });
    const text = `${JSON.stringify([base.type, base.source, base.subject]).slice(0, -1)},{"10":1,"9":1,"B":1,"a":1,"a_":1,"b":1,"é":1}]`;
    const expected = hash('sha256', text, 'base64url');
    assert.equal(eventDigest(record(keys)), expected);
    assert.equal(eventDigest(record(keys.toReversed())), expected);
  });
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
