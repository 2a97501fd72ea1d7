import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterRequested, clusterSpec, FIXED_TIME } from '../test/fixtures.js';
import { createEvent, serviceSource } from './envelope.js';
import { ClusterDeleted } from './events/cluster.js';
import { EventRejected } from './events/rejected.js';
import { UpgradePlanRequested } from './events/upgrade.js';
import { isJsonMediaType, isStructuredMediaType, parseMediaType } from './media-type.js';
import { encodeBinary, type NatsMessage } from './nats-binding.js';
import { eventsSubject } from './streams.js';
import { admitMessage, type AdmissionResult } from './validation.js';

const encoder = new TextEncoder();
const PREFIX = 'flotilla';

function binary(overrides: Record<string, string | undefined> = {}, data: unknown = clusterSpec()): NatsMessage {
  const headers: Record<string, string> = { ...encodeBinary(clusterRequested()).headers };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete headers[key];
    else headers[key] = value;
  }
  return { headers, payload: encoder.encode(JSON.stringify(data)) };
}

function structured(attributes: Record<string, unknown>, contentType: string | undefined = 'application/cloudevents+json'): NatsMessage {
  const event = { ...(JSON.parse(JSON.stringify(clusterRequested())) as Record<string, unknown>), ...attributes };
  for (const [key, value] of Object.entries(attributes)) if (value === undefined) delete event[key];
  return { headers: contentType === undefined ? {} : { 'content-type': contentType }, payload: encoder.encode(JSON.stringify(event)) };
}

function refused(result: AdmissionResult): Extract<AdmissionResult, { ok: false }> {
  assert.ok(!result.ok, 'expected the message to be refused');
  return result;
}

describe('admitMessage: envelope rules, one table', () => {
  const accepted: [string, NatsMessage][] = [
    ['binary mode as Flotilla publishes it', binary()],
    ['content type with a charset parameter (official SDKs)', binary({ 'content-type': 'application/json; charset=utf-8' })],
    ['content type in upper case, quoted charset', binary({ 'content-type': 'Application/JSON;Charset="UTF-8"' })],
    ['no content type at all (JSON is the default)', binary({ 'content-type': undefined })],
    ['header names in any case', binary({ 'ce-subject': undefined, 'CE-Subject': 'edge-eu-1' })],
    ['structured mode', structured({})],
    ['structured mode with parameters, any case', structured({}, 'Application/CloudEvents+JSON; charset=utf-8')],
    ['structured mode with datacontenttype carrying a charset', structured({ datacontenttype: 'application/json; charset=utf-8' })],
    ['structured mode without datacontenttype', structured({ datacontenttype: undefined })],
    ['structured mode without headers (clients without header support)', structured({}, undefined)],
  ];
  for (const [name, message] of accepted) {
    it(`accepts ${name}`, () => {
      const result = admitMessage({ ...message, natsSubject: eventsSubject({ prefix: PREFIX }, 'cluster.requested.v1') }, { prefix: PREFIX });
      assert.ok(result.ok, result.ok ? '' : `${result.code}: ${result.reason}`);
      assert.equal(result.event.subject, 'edge-eu-1');
      assert.equal(result.event.datacontenttype, 'application/json', 'normalised for handlers');
    });
  }

  const refusals: [string, NatsMessage, string, RegExp][] = [
    ['a subject that is not a cluster id (upper case)', binary({ 'ce-subject': 'Edge-EU-1' }), 'schema-invalid', /^subject: must be a DNS label/],
    ['a subject with a dot', binary({ 'ce-subject': 'edge.eu' }), 'schema-invalid', /^subject: /],
    ['a subject longer than a DNS label', binary({ 'ce-subject': 'a'.repeat(64) }), 'schema-invalid', /^subject: /],
    ['an empty subject', binary({ 'ce-subject': '' }), 'schema-invalid', /^subject: /],
    ['a missing id', binary({ 'ce-id': undefined, 'Nats-Msg-Id': undefined }), 'schema-invalid', /^id: /],
    ['an empty id', binary({ 'ce-id': '' }), 'schema-invalid', /^id: /],
    ['a content type that is not JSON', binary({ 'content-type': 'text/plain' }), 'schema-invalid', /^datacontenttype: .*not application\/json/],
    ['a JSON content type in another charset', binary({ 'content-type': 'application/json; charset=latin1' }), 'schema-invalid', /^datacontenttype: .*charset latin1/],
    ['a content type that is no media type', binary({ 'content-type': 'application/json;' }), 'schema-invalid', /^datacontenttype: .*not a media type/],
    ['a prefix look-alike of the structured type', { ...structured({}, 'application/cloudevents+jsonx'), headers: { 'content-type': 'application/cloudevents+jsonx' } }, 'unparseable', /no CloudEvents attributes/],
    ['structured mode with a bad subject', structured({ subject: 'no spaces allowed' }), 'schema-invalid', /^subject: /],
    ['structured mode with a non-JSON datacontenttype', structured({ datacontenttype: 'application/xml' }), 'schema-invalid', /^datacontenttype: /],
    ['an unknown type', binary({ 'ce-type': 'io.flotilla.cluster.exploded.v9' }), 'unknown-type', /exploded/],
  ];
  for (const [name, message, code, reason] of refusals) {
    it(`refuses ${name}, naming the field`, () => {
      const result = refused(admitMessage(message));
      assert.equal(result.code, code);
      assert.match(result.reason, reason);
    });
  }

  it('refuses an event published on another type\'s subject, when it knows the prefix', () => {
    const message = { ...binary(), natsSubject: eventsSubject({ prefix: PREFIX }, 'cluster.deleted.v1') };
    assert.ok(admitMessage(message).ok, 'without a prefix the NATS subject is not checked');
    const result = refused(admitMessage(message, { prefix: PREFIX }));
    assert.equal(result.code, 'schema-invalid');
    assert.match(result.reason, /must be published on flotilla\.events\.cluster\.requested\.v1, not flotilla\.events\.cluster\.deleted\.v1/);
  });

  it('enforces the size cap', () => {
    assert.equal(refused(admitMessage(binary(), { maxBytes: 10 })).code, 'too-large');
  });
});

describe('admitMessage: types this catalogue does not know (forward compatibility)', () => {
  const on = (type: string, channel: string) => ({ ...binary({ 'ce-type': type }), natsSubject: eventsSubject({ prefix: PREFIX }, channel) });

  it("marks a newer producer's type, on its own subject, to be acknowledged and skipped", () => {
    const result = refused(admitMessage(on('io.flotilla.cluster.hibernated.v1', 'cluster.hibernated.v1'), { prefix: PREFIX }));
    assert.equal(result.code, 'unknown-type');
    assert.equal(result.newerType, true);
    assert.equal(result.type, 'io.flotilla.cluster.hibernated.v1');
  });

  it('marks a type from outside Flotilla the same way', () => {
    assert.equal(refused(admitMessage(on('com.example.billing.invoiced', 'billing.invoiced'), { prefix: PREFIX })).newerType, true);
  });

  it('refuses an unknown version of a known type, naming the versions it knows', () => {
    const result = refused(admitMessage(on('io.flotilla.cluster.requested.v2', 'cluster.requested.v2'), { prefix: PREFIX }));
    assert.equal(result.code, 'unknown-type');
    assert.equal(result.newerType, undefined);
    assert.match(result.reason, /version 2 of cluster\.requested is not known to this consumer \(it knows v1\): replay/);
  });

  it("refuses an unknown type published on a known type's subject", () => {
    const result = refused(admitMessage(on('io.flotilla.cluster.exploded.v9', 'cluster.requested.v1'), { prefix: PREFIX }));
    assert.equal(result.newerType, undefined);
    assert.match(result.reason, /exploded.*published on flotilla\.events\.cluster\.requested\.v1, the subject of a known type/);
  });
});

describe('admitMessage: subject rules follow the event type', () => {
  const planRequest = (subject: string) =>
    encodeBinary(createEvent(UpgradePlanRequested, { subject, source: '/tests', time: FIXED_TIME }, { fromRelease: '4.2', toRelease: '4.3', maxConcurrency: 10 }));
  const rejected = (subject: string) =>
    encodeBinary(
      createEvent(EventRejected, { subject, source: serviceSource('provisioner'), time: FIXED_TIME }, { rejectedEventId: 'x', code: 'schema-invalid', reason: 'r', consumer: 'c', deadLetterSubject: 'd' }),
    );
  const table: [string, NatsMessage, boolean][] = [
    ['a plan event named by the planner', planRequest('plan-0a1b2c3d4e'), true],
    ['a plan event named by a UUID, upper case', planRequest('0F8E3C52-4A7D-4C1E-9A59-3D2B8F6C1A01'), true],
    ['a plan event whose subject has a slash', planRequest('plans/1'), false],
    ['a plan event whose subject has a space', planRequest('plan 1'), false],
    ['EventRejected repeating an invalid subject', rejected('Not A Cluster'), true],
    ['EventRejected about nothing known', rejected('unknown'), true],
    ['a cluster event with a cluster id', encodeBinary(createEvent(ClusterDeleted, { subject: 'c-1', source: '/tests' }, { model: 'platform-provisioned' })), true],
    ['a cluster event named like a plan id', encodeBinary(createEvent(ClusterDeleted, { subject: 'Plan_1', source: '/tests' }, { model: 'platform-provisioned' })), false],
  ];
  for (const [name, message, ok] of table) {
    it(`${ok ? 'accepts' : 'refuses'} ${name}`, () => {
      const result = admitMessage(message);
      assert.equal(result.ok, ok, result.ok ? 'admitted' : result.reason);
      if (!result.ok) assert.match(result.reason, /^subject: /);
    });
  }
});

describe('admitMessage: what a refusal tells of the event', () => {
  it('names id, type and subject when the attributes could be read', () => {
    const result = refused(admitMessage(binary({ 'ce-subject': 'Bad Subject' })));
    assert.deepEqual([result.id, result.type, result.subject], [clusterRequested().id, 'io.flotilla.cluster.requested.v1', 'Bad Subject']);
  });

  it('names them from the headers when the payload cannot be parsed', () => {
    const result = refused(admitMessage({ headers: binary().headers, payload: encoder.encode('{"name": ') }));
    assert.equal(result.code, 'unparseable');
    assert.deepEqual([result.id, result.type, result.subject], [clusterRequested().id, 'io.flotilla.cluster.requested.v1', 'edge-eu-1']);
  });

  it('names them when the data is invalid', () => {
    const result = refused(admitMessage(binary({}, { ...clusterSpec(), controlPlane: { count: 0 } })));
    assert.match(result.reason, /^data\.controlPlane/);
    assert.equal(result.type, 'io.flotilla.cluster.requested.v1');
    assert.equal(result.subject, 'edge-eu-1');
  });
});

describe('media types (RFC 9110)', () => {
  const table: [string, string | undefined, boolean, boolean][] = [
    ['application/json', 'application/json', true, false],
    ['APPLICATION/JSON', 'application/json', true, false],
    ['application/json;charset=utf-8', 'application/json', true, false],
    ['application/json ; charset=UTF-8', 'application/json', true, false],
    ['application/json; charset="utf-8"; foo=bar', 'application/json', true, false],
    ['application/json; charset=iso-8859-1', 'application/json', false, false],
    ['application/jsonp', 'application/jsonp', false, false],
    ['application/cloudevents+json', 'application/cloudevents+json', false, true],
    ['application/cloudevents+json; charset=utf-8', 'application/cloudevents+json', false, true],
    ['application/cloudevents-batch+json', 'application/cloudevents-batch+json', false, false],
    ['application/json; charset', undefined, false, false],
    ['json', undefined, false, false],
    ['', undefined, false, false],
  ];
  for (const [text, essence, json, structuredMode] of table) {
    it(`"${text}": ${essence ?? 'not a media type'}`, () => {
      assert.equal(parseMediaType(text)?.essence, essence);
      assert.equal(isJsonMediaType(text), json);
      assert.equal(isStructuredMediaType(text), structuredMode);
    });
  }

  it('keeps parameter values, unquoted', () => {
    assert.deepEqual(parseMediaType('text/plain; Charset="a\\"b"; x=1')?.parameters, { charset: 'a"b', x: '1' });
  });
});
