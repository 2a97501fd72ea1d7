import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterRequested } from '../test/fixtures.js';
import { decodeMessage, DEFAULT_MAX_EVENT_BYTES, encodeBinary, STRUCTURED_CONTENT_TYPE, type DecodeResult, type NatsMessage } from './nats-binding.js';
import { validateEvent } from './validation.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const encoder = new TextEncoder();

function decoded(result: DecodeResult): Record<string, unknown> {
  assert.ok(result.ok, result.ok ? '' : `${result.code}: ${result.reason}`);
  return result.event;
}

function failed(result: DecodeResult): Extract<DecodeResult, { ok: false }> {
  assert.ok(!result.ok, 'expected the message to be refused');
  return result;
}

describe('encodeBinary', () => {
  it('puts every attribute in a ce- header, data in the payload and the id in Nats-Msg-Id', () => {
    const event = clusterRequested();
    const message = encodeBinary(event);
    assert.deepEqual(message.headers, {
      'ce-specversion': '1.0',
      'ce-id': event.id,
      'ce-source': '/flotilla/inventory',
      'ce-type': 'io.flotilla.cluster.requested.v1',
      'ce-subject': 'edge-eu-1',
      'ce-time': '2025-06-01T12:00:00.000Z',
      'content-type': 'application/json',
      'Nats-Msg-Id': event.id,
    });
    assert.deepEqual(JSON.parse(new TextDecoder().decode(message.payload)), event.data);
  });

  it('carries the trace context in traceparent and tracestate headers', () => {
    const message = encodeBinary({ ...clusterRequested(), traceparent: TRACEPARENT, tracestate: 'vendor=1' });
    assert.equal(message.headers['traceparent'], TRACEPARENT);
    assert.equal(message.headers['tracestate'], 'vendor=1');
  });
});

describe('decodeMessage, binary mode', () => {
  it('round-trips every attribute, data and the trace context', () => {
    const event = { ...clusterRequested(), traceparent: TRACEPARENT, tracestate: 'vendor=1' };
    assert.deepEqual(decoded(decodeMessage(encodeBinary(event))), event);
  });

  it('gives an event validateEvent accepts unchanged', () => {
    const event = { ...clusterRequested(), traceparent: TRACEPARENT };
    const result = validateEvent(decoded(decodeMessage(encodeBinary(event))));
    assert.ok(result.ok, result.ok ? '' : result.reason);
    assert.deepEqual(result.event, event);
  });

  it('reads header names case-insensitively', () => {
    const { headers, payload } = encodeBinary(clusterRequested());
    const upper = Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toUpperCase(), value]));
    assert.deepEqual(decoded(decodeMessage({ headers: upper, payload })), clusterRequested());
  });
});

describe('decodeMessage, structured mode', () => {
  it('reads the whole event from the payload', () => {
    const event = clusterRequested();
    const message: NatsMessage = {
      headers: { 'content-type': `${STRUCTURED_CONTENT_TYPE}; charset=utf-8` },
      payload: encoder.encode(JSON.stringify(event)),
    };
    assert.deepEqual(decoded(decodeMessage(message)), event);
  });

  it('matches the content type case-insensitively', () => {
    const message: NatsMessage = {
      headers: { 'Content-Type': 'Application/CloudEvents+JSON' },
      payload: encoder.encode(JSON.stringify(clusterRequested())),
    };
    assert.deepEqual(decoded(decodeMessage(message)), clusterRequested());
  });

  it('takes traceparent from the header when the event has none', () => {
    const message: NatsMessage = {
      headers: { 'content-type': STRUCTURED_CONTENT_TYPE, traceparent: TRACEPARENT },
      payload: encoder.encode(JSON.stringify(clusterRequested())),
    };
    assert.equal(decoded(decodeMessage(message))['traceparent'], TRACEPARENT);
  });

  it('refuses a payload that is not a JSON object', () => {
    const result = failed(decodeMessage({ headers: { 'content-type': STRUCTURED_CONTENT_TYPE }, payload: encoder.encode('[1,2]') }));
    assert.equal(result.code, 'unparseable');
  });
});

describe('decodeMessage failures', () => {
  const headers = encodeBinary(clusterRequested()).headers;

  it('too-large: payload over the limit, with the event id kept for the dead letter', () => {
    const result = failed(decodeMessage({ headers, payload: new Uint8Array(DEFAULT_MAX_EVENT_BYTES + 1) }));
    assert.equal(result.code, 'too-large');
    assert.equal(result.id, clusterRequested().id);
    assert.match(result.reason, /over the 262144-byte limit/);
  });

  it('too-large honours a custom limit', () => {
    assert.equal(failed(decodeMessage({ headers, payload: encoder.encode('{"a":1}') }, 4)).code, 'too-large');
  });

  it('unparseable: invalid UTF-8', () => {
    const result = failed(decodeMessage({ headers, payload: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }));
    assert.equal(result.code, 'unparseable');
    assert.match(result.reason, /UTF-8/);
  });

  it('unparseable: invalid JSON', () => {
    const result = failed(decodeMessage({ headers, payload: encoder.encode('{"name": ') }));
    assert.equal(result.code, 'unparseable');
    assert.match(result.reason, /not valid JSON/);
  });

  it('unparseable: no ce- headers and no structured content type', () => {
    const result = failed(decodeMessage({ headers: { 'content-type': 'application/json' }, payload: encoder.encode('{}') }));
    assert.equal(result.code, 'unparseable');
    assert.match(result.reason, /no CloudEvents attributes/);
    assert.equal(result.id, undefined);
  });

  it('falls back to Nats-Msg-Id for the id of a message without ce-id', () => {
    const result = failed(decodeMessage({ headers: { 'Nats-Msg-Id': 'msg-9' }, payload: encoder.encode('nope') }));
    assert.equal(result.id, 'msg-9');
  });
});
