import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterDeleted, ClusterImported, ClusterImportRequested, createEvent, type CloudEvent } from '@flotilla/contracts';
import type { Registration } from '../registration/registration.js';
import { evolve, isActive, type ConnectedCluster } from './connected-cluster.js';
import { decideRemoval, removedRegistration } from './removal.js';

const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second)).toISOString();
const meta = (second: number) => ({ subject: 'edge-1', source: '/tests', time: new Date(at(second)) });
const replay = (events: CloudEvent[]) => events.reduce<ConnectedCluster | undefined>((cluster, event) => evolve(cluster, event) ?? cluster, undefined);
const imported = replay([
  createEvent(ClusterImportRequested, meta(0), { name: 'edge', apiServer: 'https://edge.example:6443', credentialRef: 'edge-admin', provider: 'cncf' }),
  createEvent(ClusterImported, meta(1), { name: 'edge', distribution: 'vanilla', kubernetesVersion: 'v1.31.5', nodeCount: 1, capacity: { cpuCores: 2, memoryBytes: 4e9 }, warnings: [] }),
])!;
const removed = evolve(imported, createEvent(ClusterDeleted, meta(10), { model: 'connected' }))!;
const registration = (id: string, more: Partial<Registration> = {}): Registration => ({
  id,
  clusterId: 'edge-1',
  clusterName: 'edge',
  tunnelUrl: 'https://tunnel.example',
  tokenHash: id,
  labels: {},
  createdAt: at(0),
  expiresAt: at(3600),
  revokedAt: null,
  usedAt: null,
  agentId: null,
  certificateSerial: null,
  certificateExpiresAt: null,
  ...more,
});

describe('deletion requests: every one is answered', () => {
  it('a cluster held here, in any state, is removed', () => {
    assert.deepEqual(decideRemoval('edge-1', imported, [], { time: at(5) }), { kind: 'remove', cluster: imported });
  });

  it('removed already: a request made before the removal is answered by its ClusterDeleted (once); one made after is refused, saying when', () => {
    assert.deepEqual(decideRemoval('edge-1', removed, [], { time: at(9) }), { kind: 'answered' });
    assert.deepEqual(decideRemoval('edge-1', removed, [], { time: at(10) }), { kind: 'answered' });
    const later = decideRemoval('edge-1', removed, [], { time: at(11) });
    assert.equal(later.kind, 'refused');
    assert.equal(later.kind === 'refused' && later.code, 'cluster-deleted');
    assert.match(later.kind === 'refused' ? later.message : '', /removed at 2026-11-23T12:00:10.000Z; import it \(or register it\) again/);
  });

  it('registered but never imported: its open registrations are revoked (not used or revoked ones) and it is removed', () => {
    const open = registration('r2');
    const decision = decideRemoval('edge-1', undefined, [registration('r1', { revokedAt: at(1) }), open, registration('r3', { usedAt: at(2), clusterName: 'edge-new' })], { time: at(5) });
    assert.deepEqual(decision, { kind: 'withdraw-registrations', name: 'edge-new', revoke: [open] });
    const tombstone = removedRegistration('edge-1', 'edge-new', 'request-1', at(5), at(6));
    assert.equal(isActive(tombstone), false, 'its id may be imported or registered again');
    assert.equal(tombstone.deletedAt, at(6));
    assert.deepEqual(decideRemoval('edge-1', tombstone, [], { time: at(5) }), { kind: 'answered' }, 'a second request is answered by the one removal');
  });

  it('an id the importer does not hold is refused with the reason, so a lost connected cluster does not wait for ever', () => {
    const decision = decideRemoval('lost-1', undefined, [], { time: at(5) });
    assert.equal(decision.kind, 'refused');
    assert.equal(decision.kind === 'refused' && decision.code, 'cluster-not-held');
    assert.match(decision.kind === 'refused' ? decision.message : '', /holds no connected cluster "lost-1"/);
  });
});
