import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterSpec } from '@flotilla/contracts';
import { findCondition } from '../conditions.js';
import { decide, machineWork, type ClusterState } from './index.js';
import { byType, host, hostsSpec, notReady, observe, running, types, up, joined, when } from '../../../test/support/lifecycle.js';

/** One control-plane host and three workers: 40% of four lets one host be remediated at a time. */
function onHosts(extra: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    ...hostsSpec,
    nodePools: [{ name: 'general', count: 3, machineSize: 'm', labels: {}, taints: [] }],
    hosts: [host('192.168.1.10', 'control-plane'), host('192.168.1.11', 'worker', 'general'), host('192.168.1.12', 'worker', 'general'), host('192.168.1.13', 'worker', 'general')],
    ...extra,
  };
}

const machine = (state: ClusterState, name: string) => state.machines.find((candidate) => candidate.name === name)!;
/** Nothing the platform makes or releases: no new machine, nothing drained or reset. */
const NEITHER_ADDED_NOR_REMOVED = (events: { type: string }[]) => !events.some((event) => event.type === 'MachinesAdded' || event.type === 'MachineRemovalStarted');

describe("users' hosts that fail their health check", () => {
  it('are reported, never replaced by a machine the platform makes, nor drained or reset', () => {
    const first = when(running(onHosts()), observe('c1-general-0', notReady, 10));
    const reported = when(first.state, observe('c1-general-0', notReady, 71));
    assert.deepEqual(types(reported.events), ['HostRemediationStarted']);
    assert.ok(NEITHER_ADDED_NOR_REMOVED(reported.events));
    const [facts] = byType(reported.events, 'HostRemediationStarted');
    assert.deepEqual([facts?.remediation, facts?.address, facts?.role, facts?.pool, facts?.unhealthySince], ['reported', '192.168.1.11', 'worker', 'general', first.state.machines[1]?.unhealthySince]);
    assert.match(facts?.message ?? '', /no spare host for node pool "general" is free \(reboots are off\): an operator has to look at 192\.168\.1\.11:22/);
    const condition = findCondition(reported.state.conditions, 'MachinesHealthy');
    assert.deepEqual([condition?.status, condition?.reason], ['False', 'HostNeedsAttention']);
    assert.match(condition?.message ?? '', /c1-general-0 \(192\.168\.1\.11\)/);
    assert.deepEqual(machine(reported.state, 'c1-general-0').remediation?.action, 'reported');
    assert.equal(machineWork(reported.state, machine(reported.state, 'c1-general-0')), 'health-check');
    // Reported once; it stays as it is however long it stays down.
    assert.deepEqual(decide(observe('c1-general-0', notReady, 500), reported.state), []);
    // Ready again: healthy, and a later failure is reported again.
    const healthy = when(reported.state, observe('c1-general-0', { kind: 'node-ready' }, 600));
    assert.deepEqual(types(healthy.events), ['MachineHealthy']);
    assert.equal(machine(healthy.state, 'c1-general-0').remediation, null);
    assert.equal(findCondition(healthy.state.conditions, 'MachinesHealthy')?.status, 'True');
  });

  it('are rebooted when the cluster allows it, given the timeout again to come back, and reported if they do not', () => {
    const state = when(running(onHosts({ hostRemediation: { reboot: true } })), observe('c1-general-0', notReady, 10)).state;
    const rebooting = when(state, observe('c1-general-0', notReady, 71));
    assert.deepEqual(types(rebooting.events), ['HostRemediationStarted']);
    assert.equal(byType(rebooting.events, 'HostRemediationStarted')[0]?.remediation, 'reboot');
    assert.equal(machineWork(rebooting.state, machine(rebooting.state, 'c1-general-0')), 'reboot');
    const rebooted = when(rebooting.state, observe('c1-general-0', { kind: 'node-rebooted' }, 75));
    assert.deepEqual(types(rebooted.events), ['HostRebooted']);
    assert.equal(machineWork(rebooted.state, machine(rebooted.state, 'c1-general-0')), 'health-check', 'rebooted once');
    assert.deepEqual(decide(observe('c1-general-0', notReady, 130), rebooted.state), [], 'still within the timeout after the reboot');
    const stillDown = when(rebooted.state, observe('c1-general-0', notReady, 136));
    assert.deepEqual(types(stillDown.events), ['HostRemediationStarted']);
    assert.equal(byType(stillDown.events, 'HostRemediationStarted')[0]?.remediation, 'reported');
    assert.match(byType(stillDown.events, 'HostRemediationStarted')[0]?.message ?? '', /still not Ready after its host 192\.168\.1\.11:22 was rebooted/);
    assert.ok(NEITHER_ADDED_NOR_REMOVED([...rebooting.events, ...rebooted.events, ...stillDown.events]));

    // A reboot that helps: Ready again, nothing more.
    const back = when(rebooted.state, observe('c1-general-0', { kind: 'node-ready' }, 90));
    assert.deepEqual(types(back.events), ['MachineHealthy']);
    assert.equal(machine(back.state, 'c1-general-0').remediation, null);
  });

  it('are replaced by a spare host of their pool (the spare joins first), and a spare is used once', () => {
    // Spares of another pool and of the control plane are not for it.
    const spares = [host('192.168.1.30', 'worker', 'gpu'), host('192.168.1.31', 'control-plane'), host('192.168.1.20', 'worker', 'general')];
    const pools = [...onHosts().nodePools, { name: 'gpu', count: 0, machineSize: 'm', labels: {}, taints: [] }];
    const state = when(running(onHosts({ nodePools: pools, spareHosts: spares, hostRemediation: { reboot: true } })), observe('c1-general-0', notReady, 10)).state;
    const replacing = when(state, observe('c1-general-0', notReady, 71));
    assert.deepEqual(types(replacing.events), ['HostRemediationStarted', 'MachinesAdded']);
    const [facts] = byType(replacing.events, 'HostRemediationStarted');
    assert.deepEqual([facts?.remediation, facts?.spare], ['spare', '192.168.1.20']);
    const [spare] = byType(replacing.events, 'MachinesAdded')[0]!.machines;
    assert.deepEqual([spare?.name, spare?.host?.address, spare?.pool, spare?.replaces], ['c1-general-3', '192.168.1.20', 'general', { machine: 'c1-general-0', reason: 'unhealthy' }]);
    assert.ok(!replacing.events.some((event) => event.type === 'MachineRemovalStarted'), 'the host stays until the spare runs');

    const joinedSpare = when(replacing.state, observe('c1-general-3', up(), 80), observe('c1-general-3', joined(), 81));
    assert.deepEqual(byType(joinedSpare.events, 'MachineRemovalStarted').map((event) => [event.machine, event.removal.reason]), [['c1-general-0', 'replaced']]);

    // Another host of the pool fails: the one spare of the pool is taken, so it is rebooted instead.
    const second = when(joinedSpare.state, observe('c1-general-1', notReady, 100), observe('c1-general-1', notReady, 161));
    assert.deepEqual(byType(second.events, 'HostRemediationStarted').map((event) => event.remediation), ['reboot']);
  });

  it('a spare that fails to join is released and the host it was for is reported; the host itself is left alone', () => {
    const state = when(running(onHosts({ spareHosts: [host('192.168.1.20', 'worker', 'general')] })), observe('c1-general-0', notReady, 10)).state;
    const replacing = when(state, observe('c1-general-0', notReady, 71));
    const failed = when(replacing.state, observe('c1-general-3', { kind: 'failed', code: 'machine-failed', message: 'node did not join: preflight failed' }, 80));
    assert.deepEqual(types(failed.events), ['MachineFailed', 'MachineRemovalStarted', 'HostRemediationStarted']);
    assert.deepEqual(byType(failed.events, 'MachineRemovalStarted').map((event) => event.machine), ['c1-general-3']);
    const [reported] = byType(failed.events, 'HostRemediationStarted');
    assert.deepEqual([reported?.machine, reported?.remediation], ['c1-general-0', 'reported']);
    assert.match(reported?.message ?? '', /spare host 192\.168\.1\.20 did not join in place of c1-general-0/);
    assert.equal(machine(failed.state, 'c1-general-0').phase, 'Running');
    assert.deepEqual(decide(observe('c1-general-0', notReady, 200), failed.state), [], 'no second try');
  });
});
