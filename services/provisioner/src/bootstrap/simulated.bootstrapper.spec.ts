import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeletVersionFor, SimulatedBootstrapper } from './simulated.bootstrapper.js';

describe('simulated node bootstrap', () => {
  it('joins on the requested version, patch 0 for a bare minor', async () => {
    assert.equal(kubeletVersionFor('1.34'), 'v1.34.0');
    assert.equal(kubeletVersionFor('v1.33.4'), 'v1.33.4');
    assert.equal(kubeletVersionFor('1.33.5-eks-113cf36'), 'v1.33.5');
    const result = await new SimulatedBootstrapper().joinNode({ clusterId: 'c', name: 'c-cp-0', role: 'control-plane', pool: null, providerId: 'p', addresses: [], kubernetesVersion: '1.34', host: null, spec: {} as never });
    assert.deepEqual(result, { state: 'joined', kubeletVersion: 'v1.34.0' });
  });
});
