import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAgo, formatTime, traceLink } from './format.js';

describe('times and trace links', () => {
  it('shows instants in UTC and how long ago', () => {
    assert.equal(formatTime('2026-12-06T09:41:07.123Z'), '2026-12-06 09:41:07 UTC');
    assert.equal(formatTime(null), '—');
    const now = Date.parse('2026-12-06T12:00:00Z');
    assert.equal(formatAgo('2026-12-06T11:59:30Z', now), '30 s ago');
    assert.equal(formatAgo('2026-12-06T11:50:00Z', now), '10 min ago');
    assert.equal(formatAgo('2026-12-06T09:00:00Z', now), '3 h ago');
    assert.equal(formatAgo('2026-12-01T12:00:00Z', now), '5 d ago');
  });

  it('links a trace id to the configured viewer, and nothing else', () => {
    const id = '4bf92f3577b34da6a3ce929d0e0e4736';
    assert.equal(traceLink('http://localhost:16686/trace/{traceId}', id), `http://localhost:16686/trace/${id}`);
    assert.equal(traceLink('https://traces.example.com/trace/', id), `https://traces.example.com/trace/${id}`);
    assert.equal(traceLink(undefined, id), undefined);
    assert.equal(traceLink('http://x/{traceId}', null), undefined);
    assert.equal(traceLink('http://x/{traceId}', 'javascript:alert(1)'), undefined);
  });
});
