import 'reflect-metadata';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ClusterSpec } from '@flotilla/contracts';
import { generateJoinSecrets, type JoinSecrets } from '../../bootstrap/join-secrets.js';
import { renderBootstrapData, type BootstrapDataInput } from '../../bootstrap/render/index.js';
import { firstBootKubeadm, sha256 } from './first-boot.js';

const spec = ClusterSpec.parse({ name: 'c1', model: 'platform-provisioned', kubernetesVersion: '1.30', controlPlane: { count: 3, machineSize: 'm' }, nodePools: [{ name: 'general', count: 1, machineSize: 'm' }] });

describe('simulated machines read the kubeadm part of their first-boot data', () => {
  let secrets: JoinSecrets;
  const input = (node: BootstrapDataInput['node'], nodeOs: BootstrapDataInput['nodeOs']): BootstrapDataInput => ({ clusterId: 'c1', spec, node, controlPlaneEndpoint: 'api.c1.example.com:6443', secrets, nodeOs });
  before(async () => {
    secrets = await generateJoinSecrets('c1');
  });

  it('init, control-plane join and worker join, the same from Ignition and Combustion, with the endpoint each is configured with; secrets as SHA-256 only', () => {
    const tokenId = secrets.bootstrapToken.split('.')[0]!;
    const expected = {
      'c1-cp-0': { action: 'init', controlPlane: true, tokenId, tokenSha256: sha256(secrets.bootstrapToken), tokenTtlMs: 86_400_000, certificateKeySha256: sha256(secrets.certificateKey), endpoint: 'api.c1.example.com:6443' },
      'c1-cp-1': { action: 'join', controlPlane: true, tokenId, tokenSha256: sha256(secrets.bootstrapToken), tokenTtlMs: null, certificateKeySha256: sha256(secrets.certificateKey), endpoint: 'api.c1.example.com:6443' },
      'c1-general-0': { action: 'join', controlPlane: false, tokenId, tokenSha256: sha256(secrets.bootstrapToken), tokenTtlMs: null, certificateKeySha256: null, endpoint: 'api.c1.example.com:6443' },
    };
    for (const nodeOs of ['flatcar', 'microos'] as const) {
      for (const [name, kubeadm] of Object.entries(expected)) {
        const node = { name, role: name.includes('-cp-') ? ('control-plane' as const) : ('worker' as const), pool: name.includes('-cp-') ? null : 'general', first: name === 'c1-cp-0', address: null };
        const data = renderBootstrapData(input(node, nodeOs));
        assert.equal(data.format, nodeOs === 'flatcar' ? 'ignition' : 'combustion');
        const read = firstBootKubeadm(data);
        assert.deepEqual(read, kubeadm, `${name} on ${nodeOs}`);
        for (const secret of [secrets.bootstrapToken, secrets.certificateKey]) assert.ok(!JSON.stringify(read).includes(secret));
      }
    }
  });

  it('finds nothing in data without a kubeadm configuration', () => {
    assert.equal(firstBootKubeadm({ format: 'ignition', content: '{}' }), undefined);
    assert.equal(firstBootKubeadm({ format: 'ignition', content: 'not json' }), undefined);
    assert.equal(firstBootKubeadm({ format: 'combustion', content: '#!/bin/bash\n' }), undefined);
  });
});
