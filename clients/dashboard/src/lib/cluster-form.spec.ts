import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterRequestOf, EMPTY_FORM, parseRawRequest } from './cluster-form.js';

describe('the create-cluster form as a request', () => {
  it('makes the body of a platform-provisioned cluster', () => {
    const request = clusterRequestOf({ ...EMPTY_FORM, id: 'edge-1', name: 'Edge 1', kubernetesVersion: '1.34', controlPlaneCount: '3', labels: 'team=a\n env = prod ', provider: 'simulated' });
    assert.deepEqual(request, {
      body: {
        id: 'edge-1',
        name: 'Edge 1',
        model: 'platform-provisioned',
        kubernetesVersion: '1.34',
        controlPlane: { count: 3, machineSize: 'small' },
        nodePools: [{ name: 'workers', count: 2, machineSize: 'small' }],
        nodeOs: 'microos',
        labels: { team: 'a', env: 'prod' },
        infrastructure: { provider: 'simulated', parameters: {} },
      },
    });
  });

  it('leaves out the optional fields left empty, so the API makes the id', () => {
    const request = clusterRequestOf({ ...EMPTY_FORM, name: 'x', kubernetesVersion: '1.34' });
    assert.ok('body' in request);
    assert.equal('id' in request.body, false);
    assert.equal('labels' in request.body, false);
    assert.equal('infrastructure' in request.body, false);
  });

  it('names the fields it cannot read', () => {
    const request = clusterRequestOf({ ...EMPTY_FORM, labels: 'novalue', pools: [{ name: 'w', count: 'two', machineSize: 'small' }] });
    assert.deepEqual(request, {
      problems: [
        { field: 'labels', message: 'line 1 must be key=value, is "novalue"' },
        { field: 'nodePools.0.count', message: 'must be a whole number' },
      ],
    });
  });

  it('takes any JSON object from the editor, and refuses what is not one', () => {
    assert.deepEqual(parseRawRequest('{"name":"a","model":"hosted-control-plane"}'), { body: { name: 'a', model: 'hosted-control-plane' } });
    const broken = parseRawRequest('{"name":');
    assert.ok('problems' in broken && broken.problems[0]?.field === 'spec');
    assert.deepEqual(parseRawRequest('[1]'), { problems: [{ field: 'spec', message: 'must be a JSON object (a cluster spec)' }] });
  });
});
