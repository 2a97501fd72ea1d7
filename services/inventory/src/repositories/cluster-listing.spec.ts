import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ListClustersQuery } from '../http/cluster-requests.js';
import { filterConditions, isMinor } from './cluster-filter.js';
import { decodeListCursor, encodeListCursor, type ListCursor } from './cluster-listing.js';

describe('cluster listing: cursors, filters and the query', () => {
  it('reads back the cursors it makes, and nothing else', () => {
    const cursors: ListCursor[] = [
      { sort: 'id', order: 'asc', key: 'prod-1', id: 'prod-1' },
      { sort: 'name', order: 'desc', key: '', id: 'x' },
      { sort: 'version', order: 'asc', key: '1000034000002', id: 'y' },
      { sort: 'created', order: 'desc', key: '2026-11-23 12:00:00.123456+00', id: 'z' },
    ];
    for (const cursor of cursors) assert.deepEqual(decodeListCursor(encodeListCursor(cursor)), cursor);
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    assert.equal(decodeListCursor('prod-1'), undefined, 'a bare id (cursors before sorting)');
    assert.equal(decodeListCursor(encode(['size', 'asc', 'a', 'b'])), undefined);
    assert.equal(decodeListCursor(encode(['version', 'asc', '1.34; DROP TABLE clusters', 'b'])), undefined);
    assert.equal(decodeListCursor(encode(['updated', 'asc', 'yesterday', 'b'])), undefined);
    assert.equal(decodeListCursor(encode(['id', 'asc', 'a', ''])), undefined);
  });

  it('binds every filter value as a parameter: a minor matches every patch, a version exactly', () => {
    const params: unknown[] = [];
    const conditions = filterConditions({ model: 'connected', version: '1.34', labels: { team: "a'; --" }, scope: { env: 'prod' } }, params);
    assert.deepEqual(conditions, ['model = $1', 'kubernetes_minor = $2', 'labels @> $3::jsonb', 'labels @> $4::jsonb']);
    assert.deepEqual(params, ['connected', '1.34', '{"team":"a\'; --"}', '{"env":"prod"}']);
    const exact: unknown[] = [];
    assert.deepEqual(filterConditions({ version: 'v1.34.2' }, exact), ['kubernetes_minor = $1', 'kubernetes_version IN ($2, $3)']);
    assert.deepEqual(exact, ['1.34', '1.34.2', 'v1.34.2']);
    assert.ok(isMinor('v1.9') && !isMinor('1.9.1'));
  });

  it('parses labels as key=value pairs and refuses a cursor of another sort or order', () => {
    const parsed = ListClustersQuery.parse({ labels: 'team=a,env=prod', sort: 'name' });
    assert.deepEqual(parsed.labels, { team: 'a', env: 'prod' });
    assert.equal(parsed.order, 'asc');
    assert.equal(parsed.limit, 50);
    const fieldsOf = (query: Record<string, string>) => ListClustersQuery.safeParse(query).error?.issues.map((issue) => issue.path.join('.'));
    assert.deepEqual(fieldsOf({ labels: 'team' }), ['labels']);
    assert.deepEqual(fieldsOf({ labels: '-bad=x' }), ['labels.-bad']);
    const cursor = encodeListCursor({ sort: 'name', order: 'asc', key: 'a', id: 'a' });
    assert.deepEqual(fieldsOf({ cursor }), ['cursor']);
    assert.deepEqual(fieldsOf({ cursor, sort: 'name', order: 'desc' }), ['cursor']);
    assert.equal(fieldsOf({ cursor, sort: 'name' }), undefined);
  });
});
