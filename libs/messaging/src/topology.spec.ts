import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durableName } from './topology.js';

describe('durableName', () => {
  it('is the service and the channel, dots replaced', () => {
    assert.equal(durableName('provisioner', 'cluster.requested.v1'), 'provisioner__cluster_requested_v1');
    assert.equal(durableName('ledger', 'cluster.nodes-provisioned.v1'), 'ledger__cluster_nodes-provisioned_v1');
  });

  it('names the every-event consumer "all"', () => {
    assert.equal(durableName('inventory', '>'), 'inventory__all');
  });

  it('spells a trailing wildcard "all" and replaces other wildcards', () => {
    assert.equal(durableName('inventory', 'cluster.>'), 'inventory__cluster_all');
    assert.equal(durableName('inventory', 'cluster.*.v1'), 'inventory__cluster___v1');
  });

  it('never contains a character JetStream forbids in a durable name', () => {
    for (const pattern of ['>', 'a.>', '*.*', 'a.*.>', 'cluster.requested.v1', 'x*y>z', '*']) {
      const name = durableName('svc', pattern);
      assert.doesNotMatch(name, /[.*>\s]/, `${pattern} -> ${name}`);
      assert.ok(name.startsWith('svc__'));
    }
  });

  it('keeps services apart on the same channel, and channels apart within a service', () => {
    assert.notEqual(durableName('inventory', 'cluster.ready.v1'), durableName('upgrade-planner', 'cluster.ready.v1'));
    assert.notEqual(durableName('inventory', 'cluster.ready.v1'), durableName('inventory', 'cluster.ready.v2'));
  });

  it('is stable: every replica of a service computes the same name', () => {
    assert.equal(durableName('importer', 'cluster.import-requested.v1'), durableName('importer', 'cluster.import-requested.v1'));
  });
});
