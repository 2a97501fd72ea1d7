import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCondition } from '../conditions.js';
import { decide, type ClusterCommand } from './index.js';
import { at, health, observe, notReady, gone, when, types, byType, bringUp, running } from '../../../test/support/lifecycle.js';

describe('machine health checks', () => {
  it('a node not Ready past the timeout is replaced: the new machine first, then the old one goes, then MachineReplaced', () => {
    const first = when(running(), observe('c1-general-0', notReady, 10));
    assert.deepEqual(types(first.events), ['MachineUnhealthy']);
    assert.equal(findCondition(first.state.conditions, 'MachinesHealthy')?.status, 'False');
    assert.deepEqual(decide(observe('c1-general-0', notReady, 69), first.state), [], 'not yet past the timeout');
    const remediated = when(first.state, observe('c1-general-0', notReady, 71));
    const [replacement] = byType(remediated.events, 'MachinesAdded')[0]!.machines;
    assert.deepEqual([replacement?.name, replacement?.replaces], ['c1-general-2', { machine: 'c1-general-0', reason: 'unhealthy' }]);
    assert.deepEqual(decide(observe('c1-general-0', notReady, 80), remediated.state), [], 'one replacement at a time');

    const joinedNew = bringUp(remediated.state, 90);
    assert.deepEqual(types(joinedNew.events).slice(-2), ['NodesJoined', 'MachineRemovalStarted']);
    const old = joinedNew.state.machines.find((machine) => machine.name === 'c1-general-0')!;
    assert.deepEqual(old.removal, { reason: 'replaced', replacedBy: 'c1-general-2', replaceReason: 'unhealthy' });
    const done = when(joinedNew.state, observe('c1-general-0', gone, 95));
    assert.deepEqual(types(done.events), ['MachineDeleted', 'MachineReplaced']);
    const replaced = byType(done.events, 'MachineReplaced')[0]!;
    assert.deepEqual([replaced.reason, replaced.oldMachine.name, replaced.newMachine.name, replaced.pool], ['unhealthy', 'c1-general-0', 'c1-general-2', 'general']);
    assert.equal(findCondition(done.state.conditions, 'MachinesHealthy')?.status, 'True');
  });

  it('a node that becomes Ready again before the timeout is healthy again', () => {
    const { state } = when(running(), observe('c1-general-0', notReady, 10));
    const { state: healthy, events } = when(state, observe('c1-general-0', { kind: 'node-ready' }, 20));
    assert.deepEqual(types(events), ['MachineHealthy']);
    assert.equal(healthy.machines[1]?.unhealthySince, null);
  });

  it('more unhealthy machines than maxUnhealthy (40% of 3 is 1): nothing is replaced and a condition says why, until enough recover', () => {
    const { state } = when(running(), observe('c1-general-0', notReady, 10), observe('c1-general-1', notReady, 10));
    const blocked = when(state, observe('c1-general-0', notReady, 80));
    assert.deepEqual(types(blocked.events), ['RemediationBlocked']);
    const condition = findCondition(blocked.state.conditions, 'RemediationAllowed');
    assert.deepEqual([condition?.status, condition?.reason], ['False', 'TooManyUnhealthy']);
    assert.match(condition?.message ?? '', /2 of 3 machine\(s\) are unhealthy, more than the 1 allowed/);
    assert.deepEqual(decide(observe('c1-general-1', notReady, 81), blocked.state), [], 'still blocked: no replacement, no repeat');
    const recovered = when(blocked.state, observe('c1-general-1', { kind: 'node-ready' }, 90));
    assert.deepEqual(types(recovered.events), ['MachineHealthy', 'RemediationAllowed']);
    assert.deepEqual(types(when(recovered.state, observe('c1-general-0', notReady, 91)).events), ['MachinesAdded']);
  });

  it('a count works as well, and without a health policy an unhealthy node is only recorded', () => {
    const { state } = when(running(), observe('c1-general-0', notReady, 10));
    const strict: ClusterCommand = { type: 'ObserveMachine', clusterId: 'c1', machine: 'c1-general-0', observation: notReady, timeoutMs: 1, health: { ...health, maxUnhealthy: { kind: 'count', value: 0 } }, at: at(80) };
    assert.deepEqual(types(decide(strict, state)), ['RemediationBlocked']);
    const none: ClusterCommand = { type: 'ObserveMachine', clusterId: 'c1', machine: 'c1-general-0', observation: notReady, timeoutMs: 1, at: at(80) };
    assert.deepEqual(decide(none, state), []);
  });
});
