import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSupportMatrix, SUPPORT_MATRIX_DOCUMENT, type ClusterSpec, type SupportMatrix } from '@flotilla/contracts';
import { decide, evolve, type ClusterCommand, type ClusterEvent, type ClusterState } from './cluster/index.js';

/*
 * Every decision is made under the policy handed to it (the bucket's revision and release, through
 * PolicyInForce) and records the revision: given/when/then with no database.
 */

const at = '2026-01-01T12:00:00.000Z';
const single: ClusterSpec = {
  name: 'edge',
  model: 'platform-provisioned',
  kubernetesVersion: '1.33',
  controlPlane: { count: 1, machineSize: 'cp' },
  nodePools: [],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
};

/** A revision in which 4.3 also creates clusters on 1.33. */
function revision(name: string): SupportMatrix {
  const doc = structuredClone(SUPPORT_MATRIX_DOCUMENT);
  doc.revision = name;
  doc.releases[0]!.creation = ['1.34', '1.33'];
  const parsed = parseSupportMatrix(doc);
  assert.ok(parsed.ok);
  return parsed.matrix;
}

function apply(state: ClusterState | undefined, command: ClusterCommand): { state: ClusterState; events: ClusterEvent[] } {
  const events = decide(command, state);
  return { state: events.reduce<ClusterState | undefined>(evolve, state)!, events };
}

const request = (release: string, matrix?: SupportMatrix): ClusterCommand => ({ type: 'RequestCluster', clusterId: 'c1', spec: single, release, ...(matrix ? { matrix } : {}), providers: ['simulated'], at });

describe('provisioner decisions under the policy in force', () => {
  const table: [string, string, SupportMatrix | undefined, 'ClusterAccepted' | 'ClusterRejected', string][] = [
    ['the shipped matrix, 4.3: 1.33 is not created', '4.3', undefined, 'ClusterRejected', SUPPORT_MATRIX_DOCUMENT.revision],
    ['the shipped matrix, 4.2: 1.33 is created', '4.2', undefined, 'ClusterAccepted', SUPPORT_MATRIX_DOCUMENT.revision],
    ['a revision in which 4.3 creates 1.33', '4.3', revision('r-133'), 'ClusterAccepted', 'r-133'],
  ];
  for (const [name, release, matrix, outcome, recorded] of table) {
    it(`creation: ${name}; the decision and the record carry the revision and the release`, () => {
      const { state, events } = apply(undefined, request(release, matrix));
      const [event] = events;
      assert.equal(event?.type, outcome);
      assert.ok(event?.type === 'ClusterAccepted' || event?.type === 'ClusterRejected');
      assert.deepEqual([event.policyRevision, event.release], [recorded, release]);
      assert.deepEqual([state.policyRevision, state.release], [recorded, release]);
      if (event.type === 'ClusterRejected') assert.deepEqual(event.reasons.map((r) => [r.code, r.field]), [['creation-unsupported', 'kubernetesVersion']]);
    });
  }

  it('an upgrade step is judged by the release and revision of its approval, and the step records them', () => {
    let { state } = apply(undefined, request('4.2'));
    const machine = state.machines[0]!.name;
    state = apply(state, { type: 'ObserveMachine', clusterId: 'c1', machine, observation: { kind: 'infrastructure-ready', providerId: 'sim://1', addresses: ['172.16.0.1'] }, timeoutMs: 600_000, health: { unhealthyTimeoutMs: 60_000, maxUnhealthy: { kind: 'count', value: 1 } }, at }).state;
    const joined = apply(state, { type: 'ObserveMachine', clusterId: 'c1', machine, observation: { kind: 'node-joined', kubeletVersion: 'v1.33.0' }, timeoutMs: 600_000, health: { unhealthyTimeoutMs: 60_000, maxUnhealthy: { kind: 'count', value: 1 } }, at });
    state = joined.state;
    assert.equal(state.phase, 'Running');
    const running = joined.events.find((event) => event.type === 'ClusterRunning');
    assert.ok(running?.type === 'ClusterRunning');
    assert.deepEqual([running.release, running.policyRevision], ['4.2', SUPPORT_MATRIX_DOCUMENT.revision]);

    const approve = (release: string, matrix?: SupportMatrix): ClusterCommand => ({ type: 'ApproveUpgradeStep', clusterId: 'c1', planId: 'p1', toVersion: '1.34', release, ...(matrix ? { matrix } : {}), at });
    const refused = decide(approve('4.2'), state);
    assert.equal(refused[0]?.type, 'UpgradeStepRejected');
    assert.ok(refused[0]?.type === 'UpgradeStepRejected');
    assert.deepEqual(refused[0].reasons.map((r) => r.code), ['incompatible']);
    assert.equal(refused[0].policyRevision, SUPPORT_MATRIX_DOCUMENT.revision);

    const started = decide(approve('4.3', revision('r-134')), state);
    assert.equal(started[0]?.type, 'UpgradeStarted');
    assert.ok(started[0]?.type === 'UpgradeStarted');
    assert.equal(started[0].policyRevision, 'r-134');
    const upgrading = started.reduce<ClusterState>(evolve, state);
    assert.ok(upgrading.operation?.kind === 'upgrade');
    assert.equal(upgrading.operation.policyRevision, 'r-134');
  });
});
