import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ZodError } from 'zod';
import { clusterSpec, FIXED_TIME } from '../test/fixtures.js';
import { createEvent, serviceSource } from './envelope.js';
import { ClusterRequested, type ClusterSpec } from './events/cluster.js';
import { TunnelConnected } from './events/connected.js';
import { validateEvent } from './validation.js';

describe('createEvent', () => {
  it('builds a CloudEvents 1.0 envelope with the definition type', () => {
    const event = createEvent(TunnelConnected, { subject: 'edge-eu-1', source: serviceSource('tunnel-broker') }, { agentId: 'agent-7' });
    assert.equal(event.specversion, '1.0');
    assert.equal(event.type, 'io.flotilla.tunnel.connected.v1');
    assert.equal(event.subject, 'edge-eu-1');
    assert.equal(event.source, '/flotilla/tunnel-broker');
    assert.equal(event.datacontenttype, 'application/json');
    assert.match(event.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(!Number.isNaN(Date.parse(event.time)));
  });

  it('keeps a given id and time', () => {
    const event = createEvent(ClusterRequested, { subject: 'edge-eu-1', source: 's', id: 'evt-1', time: FIXED_TIME }, clusterSpec());
    assert.equal(event.id, 'evt-1');
    assert.equal(event.time, '2025-06-01T12:00:00.000Z');
  });

  it('gives every event its own id', () => {
    const make = () => createEvent(TunnelConnected, { subject: 'c', source: 's' }, { agentId: 'a' }).id;
    assert.notEqual(make(), make());
  });

  it('fills schema defaults into data', () => {
    const { nodePools: _pools, network: _network, ...minimal } = clusterSpec();
    // createEvent's parameter is typed as the parsed (output) type; publishers may still omit defaults.
    const event = createEvent(ClusterRequested, { subject: 'edge-eu-1', source: 's' }, minimal as ClusterSpec);
    assert.deepEqual(event.data.nodePools, []);
    assert.deepEqual(event.data.network, { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' });
  });

  it('rejects data that does not match the schema, naming the field', () => {
    const bad = { ...clusterSpec(), controlPlane: { count: 2, machineSize: 'm5.large' } } as unknown as ClusterSpec;
    assert.throws(
      () => createEvent(ClusterRequested, { subject: 'edge-eu-1', source: 's' }, bad),
      (error: unknown) => error instanceof ZodError && error.issues.some((issue) => issue.path.join('.') === 'controlPlane.count'),
    );
  });

  it('produces events that validate', () => {
    const event = createEvent(ClusterRequested, { subject: 'edge-eu-1', source: serviceSource('inventory') }, clusterSpec());
    const result = validateEvent({ ...event });
    assert.ok(result.ok, result.ok ? '' : result.reason);
    assert.deepEqual(result.event, event);
  });
});
