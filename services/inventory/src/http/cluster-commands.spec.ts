import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLUSTER_STATUSES } from '../domain/cluster-view.js';
import { idTaken, refuseCommand, refusalMessage } from './cluster-commands.js';

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

describe('idTaken: why POST /api/v1/clusters may not use an id, and what to do', () => {
  const deletedAt = '2026-11-23T12:00:00.000Z';

  it('a cluster that exists', () => {
    const taken = idTaken('prod', { status: 'Running', model: 'platform-provisioned', factTimes: {} });
    assert.equal(taken.code, 'cluster-exists');
    assert.equal(taken.message, 'cluster "prod" already exists (Running): request the new cluster under another id');
  });

  it('a deleted platform cluster: ids are never reused, nothing to purge', () => {
    const taken = idTaken('prod', { status: 'Deleted', model: 'platform-provisioned', factTimes: { status: deletedAt } });
    assert.equal(taken.code, 'cluster-id-deleted');
    assert.equal(taken.statusCode, 409);
    assert.match(taken.message, /was deleted at 2026-11-23T12:00:00.000Z and ids are never reused: the provisioner keeps the deleted cluster's record under it/);
    assert.match(taken.message, /request the new cluster under another id/);
  });

  it('a deleted connected cluster: imported again under its id', () => {
    const taken = idTaken('edge', { status: 'Deleted', model: 'connected', factTimes: { status: deletedAt } });
    assert.equal(taken.code, 'cluster-id-deleted');
    assert.match(taken.message, /import it again under this id \(POST \/api\/v1\/imports on the importer, with "id": "edge"\)/);
  });
});
