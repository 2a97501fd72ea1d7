import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterRequested } from '../test/fixtures.js';
import { ClusterRequested } from './events/cluster.js';
import { validateEvent, type ValidationResult } from './validation.js';

function failure(result: ValidationResult): Extract<ValidationResult, { ok: false }> {
  assert.ok(!result.ok, 'expected the event to be refused');
  return result;
}

/** The event as a decoder hands it over: plain JSON, nothing parsed yet. */
function raw(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(JSON.parse(JSON.stringify(clusterRequested())) as Record<string, unknown>), ...overrides };
}

describe('validateEvent', () => {
  it('accepts a valid event and returns its definition', () => {
    const result = validateEvent(raw());
    assert.ok(result.ok, result.ok ? '' : result.reason);
    assert.equal(result.definition, ClusterRequested);
    assert.equal(result.event.datacontenttype, 'application/json');
  });

  it('fills data defaults a publisher left out', () => {
    const event = raw();
    const data = event['data'] as Record<string, unknown>;
    delete data['nodePools'];
    const result = validateEvent(event);
    assert.ok(result.ok, result.ok ? '' : result.reason);
    assert.deepEqual((result.event.data as { nodePools: unknown }).nodePools, []);
  });

  it('names the path of a bad data field', () => {
    const event = raw();
    (event['data'] as { controlPlane: { count: number } }).controlPlane.count = 2;
    const result = failure(validateEvent(event));
    assert.equal(result.code, 'schema-invalid');
    assert.match(result.reason, /^data\.controlPlane\.count: /);
  });

  it('names every bad field, in arrays too', () => {
    const event = raw();
    const data = event['data'] as { name: string; nodePools: { count: number }[] };
    data.name = '';
    data.nodePools[0]!.count = -1;
    const { reason } = failure(validateEvent(event));
    assert.match(reason, /data\.name: /);
    assert.match(reason, /data\.nodePools\.0\.count: /);
    assert.equal(reason.split('; ').length, 2);
  });

  it('names bad attributes', () => {
    const { code, reason } = failure(validateEvent(raw({ specversion: '0.3', time: 'yesterday', subject: '' })));
    assert.equal(code, 'schema-invalid');
    assert.match(reason, /specversion: /);
    assert.match(reason, /time: /);
    assert.match(reason, /subject: /);
  });

  it("refuses a source naming a Flotilla service that does not produce the type, and judges no other source", () => {
    const { code, reason } = failure(validateEvent(raw({ source: '/flotilla/provisioner' })));
    assert.equal(code, 'schema-invalid');
    assert.match(reason, /^source: \/flotilla\/provisioner does not produce io\.flotilla\.cluster\.requested\.v1 \(its producers: inventory, external\)$/);
    for (const source of ['/flotilla/inventory', '/tests/outside-publisher', '/flotilla/not-a-service', '/flotilla/provisioner/x']) {
      const result = validateEvent(raw({ source }));
      assert.ok(result.ok, `${source}: ${result.ok ? '' : result.reason}`);
    }
  });

  it('refuses missing data', () => {
    const event = raw();
    delete event['data'];
    assert.match(failure(validateEvent(event)).reason, /^data: /);
  });

  it('refuses a time without offset', () => {
    assert.match(failure(validateEvent(raw({ time: '2025-06-01T12:00:00' }))).reason, /^time: /);
  });

  it('gives unknown-type for a type the catalogue does not have', () => {
    const result = failure(validateEvent(raw({ type: 'io.flotilla.cluster.requested.v9' })));
    assert.equal(result.code, 'unknown-type');
    assert.match(result.reason, /io\.flotilla\.cluster\.requested\.v9/);
  });

  it('keeps the trace context', () => {
    const result = validateEvent(raw({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }));
    assert.ok(result.ok);
    assert.equal(result.event.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  });
});
