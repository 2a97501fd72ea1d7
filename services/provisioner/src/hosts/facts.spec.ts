import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFacts } from './facts.js';

describe('parseFacts', () => {
  it('reads every fact the script prints', () => {
    const facts = parseFacts(
      ['hostname=node-a', 'cpus=4', 'memory_kb=4045000', 'swap_kb=1048576', 'ip_forward=1', 'os_id=Ubuntu', 'os_version=24.04', 'runtime_socket=/run/containerd/containerd.sock', 'runtime_socket=/var/run/crio/crio.sock', 'listening=6443,22,10250'].join('\n'),
    );
    assert.deepEqual(facts, {
      hostname: 'node-a',
      cpus: 4,
      memoryMb: 3950,
      swapMb: 1024,
      ipForward: '1',
      osId: 'ubuntu',
      osVersion: '24.04',
      runtimeSockets: ['/run/containerd/containerd.sock', '/var/run/crio/crio.sock'],
      listeningPorts: [22, 6443, 10250],
    });
  });

  it('makes what could not be read null or empty', () => {
    const facts = parseFacts('hostname=\ncpus=\nmemory_kb=\nip_forward=\nlistening=\nnoise without equals\n');
    assert.deepEqual(facts, { hostname: '', cpus: null, memoryMb: null, swapMb: null, ipForward: null, osId: null, osVersion: null, runtimeSockets: [], listeningPorts: [] });
  });
});
