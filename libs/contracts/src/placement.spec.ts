import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusPlacementConfig, describePlacement, streamPlacement } from './placement.js';
import { auditStreamSettings, deadLetterStreamSettings, eventsStreamSettings, replayStreamSettings } from './streams.js';

const parse = (env: Record<string, string>) => BusPlacementConfig.safeParse(env);
const problems = (env: Record<string, string>) => {
  const result = parse(env);
  assert.equal(result.success, false, `${JSON.stringify(env)} refused`);
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
};

describe('BusPlacementConfig', () => {
  it('asks for no placement when neither variable is set', () => {
    const result = parse({});
    assert.ok(result.success);
    assert.equal(streamPlacement(result.data), undefined);
  });

  it('reads a cluster and comma-separated tags, trimmed', () => {
    const result = parse({ BUS_PLACEMENT_CLUSTER: 'east', BUS_PLACEMENT_TAGS: 'az:eu-west-1a, ssd' });
    assert.ok(result.success);
    assert.deepEqual(streamPlacement(result.data), { cluster: 'east', tags: ['az:eu-west-1a', 'ssd'] });
    assert.equal(describePlacement(streamPlacement(result.data)!), 'cluster east, tags az:eu-west-1a, ssd');
  });

  it('takes either on its own', () => {
    assert.deepEqual(streamPlacement(parse({ BUS_PLACEMENT_TAGS: 'ssd' }).data!), { tags: ['ssd'] });
    assert.deepEqual(streamPlacement(parse({ BUS_PLACEMENT_CLUSTER: 'c1' }).data!), { cluster: 'c1' });
  });

  it('refuses a cluster name with spaces or wildcards, naming the variable', () => {
    assert.match(problems({ BUS_PLACEMENT_CLUSTER: 'east 1' })[0]!, /^BUS_PLACEMENT_CLUSTER: must be a NATS cluster name/);
    assert.match(problems({ BUS_PLACEMENT_CLUSTER: 'east.*' })[0]!, /^BUS_PLACEMENT_CLUSTER: /);
  });

  it('refuses empty, malformed and repeated tags, naming the variable and the tag', () => {
    assert.deepEqual(problems({ BUS_PLACEMENT_TAGS: 'ssd,,az:1' }), ['BUS_PLACEMENT_TAGS: must be tags separated by commas, none empty']);
    assert.deepEqual(problems({ BUS_PLACEMENT_TAGS: 'ssd, fast disk' }), ['BUS_PLACEMENT_TAGS: tag "fast disk" may hold only letters, digits and _ . : = / - (no spaces or wildcards)']);
    assert.deepEqual(problems({ BUS_PLACEMENT_TAGS: 'SSD,ssd' }), ['BUS_PLACEMENT_TAGS: tag "ssd" is given twice']);
    assert.equal(problems({ BUS_PLACEMENT_TAGS: '>' }).length, 1);
  });
});

describe('placement of the bus streams', () => {
  const naming = { prefix: 'flotilla' };
  const all = [eventsStreamSettings, deadLetterStreamSettings, replayStreamSettings, auditStreamSettings];

  it('is the configured one on every stream, and absent when none is configured', () => {
    const placement = { cluster: 'east', tags: ['ssd'] };
    for (const settings of all) {
      assert.deepEqual(settings(naming, { replicas: 3, placement }).placement, placement, settings.name);
      assert.equal('placement' in settings(naming, { replicas: 3 }), false, settings.name);
    }
  });
});
