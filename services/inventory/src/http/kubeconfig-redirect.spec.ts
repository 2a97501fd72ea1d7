import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeconfigRedirect } from './kubeconfig-redirect.js';

describe("a cluster's kubeconfig is answered by its owner", () => {
  it('the provisioner for the models it builds or hosts, the importer for connected clusters, with the query kept', () => {
    for (const model of ['platform-provisioned', 'user-provisioned', 'hosted-control-plane'] as const) {
      assert.deepEqual(kubeconfigRedirect({ id: 'c-1', model, status: 'Running' }, '?ttl=2h'), { ok: true, location: '/api/v1/provisioner/clusters/c-1/kubeconfig?ttl=2h' });
    }
    assert.deepEqual(kubeconfigRedirect({ id: 'edge', model: 'connected', status: 'Importing' }, ''), { ok: true, location: '/api/v1/connected-clusters/edge/kubeconfig' });
  });

  it('the importer for public-cloud clusters: it holds their cloud accounts', () => {
    assert.deepEqual(kubeconfigRedirect({ id: 'shop-eks', model: 'public-cloud', status: 'Running' }, '?ttl=1h'), { ok: true, location: '/api/v1/connected-clusters/shop-eks/kubeconfig?ttl=1h' });
  });

  it('a deleted cluster, or one whose model nobody has said yet, is refused with its code', () => {
    assert.equal((kubeconfigRedirect({ id: 'gone', model: 'connected', status: 'Deleted' }, '') as { code?: string }).code, 'cluster-deleted');
    assert.equal((kubeconfigRedirect({ id: 'early', model: null, status: 'Importing' }, '') as { code?: string }).code, 'model-unknown');
  });
});
