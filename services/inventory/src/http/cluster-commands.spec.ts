import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLUSTER_STATUSES } from '../domain/cluster-view.js';
import { refuseCommand, refusalMessage } from './cluster-commands.js';

describe('refuseCommand', () => {
  it('refuses every command about a deleted cluster', () => {
    assert.equal(refuseCommand('Deleted', false), 'cluster-deleted');
    assert.equal(refuseCommand('Deleted', true), 'cluster-deleted');
  });

  it('refuses every command about a cluster whose deletion was requested, whatever its status', () => {
    for (const status of CLUSTER_STATUSES.filter((s) => s !== 'Deleted')) assert.equal(refuseCommand(status, true), 'deletion-requested', status);
  });

  it('leaves the rest to the provisioner', () => {
    for (const status of CLUSTER_STATUSES.filter((s) => s !== 'Deleted')) assert.equal(refuseCommand(status, false), undefined, status);
  });

  it('says which cluster and why', () => {
    assert.equal(refusalMessage('prod', 'cluster-deleted'), 'cluster "prod" is deleted');
    assert.equal(refusalMessage('prod', 'deletion-requested'), 'cluster "prod" is being deleted');
  });
});
