import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterReady } from '@flotilla/contracts';
import { eventsOf, eventually } from '@flotilla/messaging/testing';
import { cloudNameFor } from '../../src/managed/managed-cluster.js';
import { EksStandin } from '../support/cloud-standins/eks-standin.js';
import { ImporterProcesses } from './importer-process.js';
import { eksClusterRequest } from './support.js';

const account = { accessKeyId: 'AKIAPROCESSKILLTEST1', secretAccessKey: 'process/kill+test/0123456789abcdefghijkl' };
const region = 'eu-west-1';
const clusterId = 'killed';

describe('the importer process killed with SIGKILL in the middle of a public cloud create (EKS): restarted, it finishes it from what EKS has', () => {
  let eks: EksStandin;
  let importers: ImporterProcesses;
  const cloudName = cloudNameFor(clusterId);
  const creates = (what = '') => eks.lifecycle.creates.get(what === '' ? `cluster/${region}/${cloudName}` : `nodegroup/${region}/${cloudName}/${what}`) ?? 0;
  const stored = () => eks.fixtures.find((entry) => entry.region === region && entry.cluster.name === cloudName);

  before(async () => {
    eks = await EksStandin.start({ durations: { createCluster: 800, createNodegroup: 600, deleteCluster: 200, deleteNodegroup: 200 }, versions: { [region]: ['1.30', '1.31'] } });
    eks.identities.set(account.accessKeyId, { ...account, arn: 'arn:aws:iam::123456789012:user/flotilla-importer', eksAllowed: true });
    importers = await ImporterProcesses.open({ CLOUD_EKS_ENDPOINT: eks.url, CLOUD_AWS_STS_ENDPOINT: eks.url });
  });

  after(async () => {
    await importers.close();
    await eks.close();
  });

  it('killed while the control plane is CREATING, then while the node groups are CREATING: ClusterReady once, one cluster and one of each node group at EKS', async () => {
    const first = await importers.start();
    await importers.registerAccount('aws-fleet', 'eks', account);
    // EKS's clock held while the process dies: the control plane cannot finish before the kill, however slow the machine.
    eks.lifecycle.pause();
    await importers.request(clusterId, eksClusterRequest(clusterId, '1.31', region));
    await eventually(() => (creates() === 1 ? true : undefined), 60_000, 'the control plane create at EKS');
    await importers.kill(first);
    assert.equal(stored()?.cluster.status, 'CREATING', 'killed while the control plane was being created');

    const second = await importers.start();
    eks.lifecycle.resume();
    await eventually(() => (creates('system') + creates('workers') > 0 ? true : undefined), 60_000, 'a node group create at EKS');
    eks.lifecycle.pause();
    await importers.kill(second);
    const groups = stored()?.nodegroups ?? [];
    assert.ok(groups.length > 0 && groups.every((group) => group.status === 'CREATING'), `killed while node groups were being created: ${JSON.stringify(groups.map((group) => [group.nodegroupName, group.status]))}`);

    await importers.start();
    eks.lifecycle.resume();
    const [ready] = await eventually(async () => {
      const seen = await eventsOf(importers.bus, importers.prefix, ClusterReady, clusterId);
      return seen.length > 0 ? seen : undefined;
    }, 60_000, 'ClusterReady');
    assert.equal(ready?.data.nodeCount, 5);
    assert.match(ready?.data.kubernetesVersion ?? '', /^1\.31/);

    assert.deepEqual([creates(), creates('system'), creates('workers')], [1, 1, 1], 'exactly one cluster and one of each node group at EKS');
    assert.equal(eks.lifecycle.duplicateCreates, 0);
    assert.deepEqual(
      stored()?.nodegroups.map((group) => [group.nodegroupName, group.status]).sort(),
      [
        ['system', 'ACTIVE'],
        ['workers', 'ACTIVE'],
      ],
    );
    assert.deepEqual(await importers.managedRow(clusterId), [{ phase: 'Running', work: null }]);
    // The work is over (no step left to take), so the one ClusterReady is the only one there will be.
    assert.equal((await eventsOf(importers.bus, importers.prefix, ClusterReady, clusterId)).length, 1);
  });
});
