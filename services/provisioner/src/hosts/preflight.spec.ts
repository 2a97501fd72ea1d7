import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostFacts } from './facts.js';
import { describePreflightFailures, evaluatePreflight, osSupported, type CheckName, type CheckStatus, type HostUnderCheck } from './preflight.js';

function facts(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    hostname: 'node-a',
    cpus: 2,
    memoryMb: 2048,
    swapMb: 0,
    ipForward: '1',
    osId: 'ubuntu',
    osVersion: '24.04',
    runtimeSockets: ['/run/containerd/containerd.sock'],
    listeningPorts: [22],
    ...overrides,
  };
}

function statusOf(host: HostUnderCheck, check: CheckName, peers: HostUnderCheck[] = []): { status: CheckStatus; message: string; observed: string } {
  const report = evaluatePreflight([host, ...peers]).find((entry) => entry.machine === host.machine)!;
  const result = report.checks.find((entry) => entry.check === check)!;
  return { status: result.status, message: result.message, observed: result.observed };
}

const cp = (overrides: Partial<HostFacts> = {}): HostUnderCheck => ({ machine: 'c-cp-0', role: 'control-plane', facts: facts(overrides) });
const worker = (overrides: Partial<HostFacts> = {}): HostUnderCheck => ({ machine: 'c-worker-0', role: 'worker', facts: facts({ hostname: 'node-w', ...overrides }) });

describe('preflight', () => {
  const table: { name: string; host: HostUnderCheck; check: CheckName; status: CheckStatus; observed?: string }[] = [
    { name: 'control plane with 2 CPUs', host: cp({ cpus: 2 }), check: 'cpu', status: 'pass', observed: '2' },
    { name: 'control plane with 1 CPU', host: cp({ cpus: 1 }), check: 'cpu', status: 'fail', observed: '1' },
    { name: 'control plane, CPUs unreadable', host: cp({ cpus: null }), check: 'cpu', status: 'fail', observed: '' },
    { name: 'worker with 1 CPU', host: worker({ cpus: 1 }), check: 'cpu', status: 'pass' },
    { name: 'control plane with 1700 MB', host: cp({ memoryMb: 1700 }), check: 'memory', status: 'pass', observed: '1700 MB' },
    { name: 'control plane with 1699 MB', host: cp({ memoryMb: 1699 }), check: 'memory', status: 'fail', observed: '1699 MB' },
    { name: 'worker with 512 MB', host: worker({ memoryMb: 512 }), check: 'memory', status: 'pass' },
    { name: 'control plane, API server port taken', host: cp({ listeningPorts: [22, 6443] }), check: 'ports', status: 'fail', observed: '6443' },
    { name: 'control plane, etcd ports taken', host: cp({ listeningPorts: [2379, 2380] }), check: 'ports', status: 'fail', observed: '2379,2380' },
    { name: 'control plane, scheduler and controller-manager ports taken', host: cp({ listeningPorts: [10257, 10259] }), check: 'ports', status: 'fail', observed: '10257,10259' },
    { name: 'worker, 6443 in use does not matter', host: worker({ listeningPorts: [6443] }), check: 'ports', status: 'pass' },
    { name: 'worker, kubelet port taken', host: worker({ listeningPorts: [10250] }), check: 'ports', status: 'fail', observed: '10250' },
    { name: 'ip_forward 1', host: cp(), check: 'ip-forward', status: 'pass', observed: '1' },
    { name: 'ip_forward 0', host: worker({ ipForward: '0' }), check: 'ip-forward', status: 'fail', observed: '0' },
    { name: 'ip_forward unreadable', host: cp({ ipForward: null }), check: 'ip-forward', status: 'fail', observed: '' },
    { name: 'containerd socket', host: cp(), check: 'container-runtime', status: 'pass' },
    { name: 'CRI-O socket', host: cp({ runtimeSockets: ['/var/run/crio/crio.sock'] }), check: 'container-runtime', status: 'pass', observed: '/var/run/crio/crio.sock' },
    { name: 'no runtime socket: one is installed', host: worker({ runtimeSockets: [] }), check: 'container-runtime', status: 'warn' },
    { name: 'swap off', host: cp(), check: 'swap', status: 'pass', observed: '0 MB' },
    { name: 'swap on is a warning', host: cp({ swapMb: 1024 }), check: 'swap', status: 'warn', observed: '1024 MB' },
    { name: 'ubuntu 22.04', host: cp({ osVersion: '22.04' }), check: 'os-supported', status: 'pass', observed: 'ubuntu 22.04' },
    { name: 'ubuntu 20.04', host: cp({ osVersion: '20.04' }), check: 'os-supported', status: 'fail', observed: 'ubuntu 20.04' },
    { name: 'rocky 9.4', host: cp({ osId: 'rocky', osVersion: '9.4' }), check: 'os-supported', status: 'pass' },
    { name: 'rhel 7.9', host: cp({ osId: 'rhel', osVersion: '7.9' }), check: 'os-supported', status: 'fail' },
    { name: 'debian 12', host: cp({ osId: 'debian', osVersion: '12' }), check: 'os-supported', status: 'pass' },
    { name: 'opensuse-leap 15.6', host: cp({ osId: 'opensuse-leap', osVersion: '15.6' }), check: 'os-supported', status: 'pass' },
    { name: 'fedora 41', host: cp({ osId: 'fedora', osVersion: '41' }), check: 'os-supported', status: 'pass' },
    { name: 'unknown OS', host: cp({ osId: null, osVersion: null }), check: 'os-supported', status: 'fail' },
    { name: 'hostname unreadable', host: cp({ hostname: '' }), check: 'hostname-unique', status: 'fail' },
  ];
  for (const row of table) {
    it(`${row.name}: ${row.check} ${row.status}`, () => {
      const result = statusOf(row.host, row.check);
      assert.equal(result.status, row.status, result.message);
      if (row.observed !== undefined) assert.equal(result.observed, row.observed);
    });
  }

  it('hostnames must differ across the cluster: both hosts fail, each naming the other', () => {
    const reports = evaluatePreflight([cp({ hostname: 'same' }), worker({ hostname: 'same' })]);
    for (const report of reports) {
      const check = report.checks.find((entry) => entry.check === 'hostname-unique')!;
      assert.equal(check.status, 'fail');
    }
    assert.match(reports[0]!.checks.find((entry) => entry.check === 'hostname-unique')!.message, /c-worker-0/);
    assert.match(reports[1]!.checks.find((entry) => entry.check === 'hostname-unique')!.message, /c-cp-0/);
  });

  it('a healthy cluster has no failures; warnings do not stop it', () => {
    const reports = evaluatePreflight([cp({ swapMb: 512 }), worker()]);
    assert.equal(describePreflightFailures(reports), null);
    assert.equal(reports[0]!.checks.length, 8);
  });

  it('the failure message lists every failed check of every host', () => {
    const message = describePreflightFailures(evaluatePreflight([cp({ cpus: 1, ipForward: '0' }), worker({ ipForward: '0', listeningPorts: [10250] })]));
    assert.ok(message);
    assert.match(message, /c-cp-0: cpu: .*; ip-forward: /);
    assert.match(message, /c-worker-0: ports: port 10250 already in use; ip-forward: /);
  });

  it('supported operating systems', () => {
    assert.equal(osSupported('almalinux', '8.10'), true);
    assert.equal(osSupported('sles', '15.5'), true);
    assert.equal(osSupported('sles', '12.5'), false);
    assert.equal(osSupported('debian', '11'), false);
    assert.equal(osSupported('ubuntu', '24.04'), true);
    assert.equal(osSupported('arch', null), false);
  });
});
