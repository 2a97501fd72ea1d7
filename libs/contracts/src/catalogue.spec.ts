import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { EVENT_CATALOGUE, findDefinition } from './catalogue.js';
import { CLOUDEVENT_TYPE_PREFIX, defineEvent, EXTERNAL, SERVICES } from './event-definition.js';
import { eventJsonSchema } from './json-schema.js';

describe('EVENT_CATALOGUE', () => {
  it('has unique names, types and channels', () => {
    for (const key of ['name', 'type', 'channel'] as const) {
      const values = EVENT_CATALOGUE.map((definition) => definition[key]);
      assert.equal(new Set(values).size, values.length, `duplicate ${key}`);
    }
  });

  it('derives type and channel from topic and version', () => {
    for (const definition of EVENT_CATALOGUE) {
      assert.ok(definition.channel.endsWith(`.v${definition.version}`), definition.name);
      assert.equal(definition.type, `${CLOUDEVENT_TYPE_PREFIX}${definition.channel}`);
    }
  });

  it('names only known services or external as producers and consumers', () => {
    const parties = new Set<string>([...SERVICES, EXTERNAL]);
    for (const definition of EVENT_CATALOGUE) {
      assert.ok(definition.producers.length > 0, `${definition.name} has no producer`);
      assert.ok(definition.consumers.length > 0, `${definition.name} has no consumer`);
      for (const party of [...definition.producers, ...definition.consumers]) assert.ok(parties.has(party), `${definition.name}: ${party}`);
    }
  });

  it('has object data schemas that JSON Schema can express', () => {
    for (const definition of EVENT_CATALOGUE) {
      assert.ok(definition.data instanceof z.ZodObject, `${definition.name} data must be an object`);
      assert.doesNotThrow(() => eventJsonSchema(definition), definition.name);
    }
  });

  it('is searchable by type', () => {
    for (const definition of EVENT_CATALOGUE) assert.equal(findDefinition(definition.type), definition);
    assert.equal(findDefinition('io.flotilla.nothing.v1'), undefined);
  });
});

describe('defineEvent', () => {
  const spec = { name: 'X', version: 2, description: 'x', data: z.object({}), producers: [], consumers: [] };

  it('versions the type and channel', () => {
    const definition = defineEvent({ ...spec, topic: 'machine.replaced' });
    assert.equal(definition.type, 'io.flotilla.machine.replaced.v2');
    assert.equal(definition.channel, 'machine.replaced.v2');
    assert.ok(Object.isFrozen(definition));
  });

  it('refuses a topic that is not dotted lower-case words', () => {
    for (const topic of ['cluster', 'Cluster.Requested', 'cluster..requested', 'cluster.requested.', 'cluster.re quested']) {
      assert.throws(() => defineEvent({ ...spec, topic }), /must be dotted lower-case words/, topic);
    }
  });
});
