import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterDeletionRequested,
  ClusterImported,
  ClusterImportRequested,
  ClusterProgress,
  ClusterReady,
  ClusterRequested,
  createEvent,
  EventRejected,
  TunnelRegistrationIssued,
  TunnelRegistrationRevoked,
  type CloudEvent,
} from '@flotilla/contracts';
import { refuseCommand } from '../http/cluster-commands.js';
import { beingDeleted, evolve, type ClusterView } from './cluster-view.js';

/*
 * Clusters come and go: a deletion request is pending until the cluster's owner answers it (the
 * importer for a connected cluster, the provisioner for the others), never for ever, and a
 * connected cluster removed can be imported again under its id.
 */

const ID = 'edge-1';
const IMPORTER = '/flotilla/importer';
const PROVISIONER = '/flotilla/provisioner';
const INVENTORY = '/flotilla/inventory';
const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const meta = (second: number, source: string) => ({ subject: ID, source, time: at(second) });

const importRequest = (second: number) => createEvent(ClusterImportRequested, meta(second, INVENTORY), { name: 'edge', apiServer: 'https://edge.example:6443', credentialRef: 'edge-admin', provider: 'cncf' });
const imported = (second: number) =>
  createEvent(ClusterImported, meta(second, IMPORTER), { name: 'edge', distribution: 'vanilla', kubernetesVersion: 'v1.31.5', nodeCount: 1, capacity: { cpuCores: 2, memoryBytes: 4e9 }, warnings: [] });
const deletion = (second: number) => createEvent(ClusterDeletionRequested, meta(second, INVENTORY), { reason: 'moving' });
const rejection = (second: number, request: CloudEvent, source: string, reason: string) =>
  createEvent(EventRejected, meta(second, source), {
    rejectedEventId: request.id,
    rejectedType: request.type,
    rejectedSubject: ID,
    code: 'handler-rejected',
    reason,
    consumer: `${source.split('/').at(-1)}__cluster_deletion-requested_v1`,
    deadLetterSubject: 'dlq',
  });
const replay = (events: CloudEvent[], from?: ClusterView) => events.reduce<ClusterView | undefined>((view, event) => evolve(view, event) ?? view, from);
const commandRefused = (view: ClusterView) => refuseCommand(view.status, beingDeleted(view));

describe('a connected cluster removed and imported again', () => {
  const running = replay([importRequest(0), imported(1)])!;
  const asked = deletion(10);

  it('is being deleted until the importer answers; the provisioner refusing a cluster it does not know is not the answer', () => {
    const waiting = replay([asked, rejection(11, asked, PROVISIONER, 'cluster-not-found: cluster "edge-1" is not known here')], running)!;
    assert.deepEqual(waiting.pendingRequests.map((request) => request.eventId), [asked.id]);
    assert.equal(waiting.lastRefusal, null, 'no refusal of the owner');
    assert.equal(commandRefused(waiting), 'deletion-requested');
  });

  it('ClusterDeleted (connected), then the same id imported again: Running, and commands (its next deletion) taken again', () => {
    const again = deletion(11);
    const gone = replay([asked, again, createEvent(ClusterDeleted, meta(12, IMPORTER), { model: 'connected' })], running)!;
    assert.equal(gone.status, 'Deleted');
    assert.deepEqual(gone.pendingRequests, [], 'both requests answered by the one removal');
    assert.equal(commandRefused(gone), 'cluster-deleted');
    const back = replay([importRequest(20), imported(21)], gone)!;
    assert.equal(back.status, 'Running');
    assert.equal(back.name, 'edge');
    assert.deepEqual(back.pendingRequests, []);
    assert.equal(commandRefused(back), undefined, 'a deletion request of its earlier life does not hold it');
    const removedAgain = replay([deletion(30), createEvent(ClusterDeleted, meta(31, IMPORTER), { model: 'connected' })], back)!;
    assert.equal(removedAgain.status, 'Deleted');
  });

  it('the importer refusing it (a cluster it does not hold) ends the request: shown on the cluster, which takes commands again', () => {
    const refused = replay([asked, rejection(11, asked, IMPORTER, 'cluster-not-held: the importer holds no connected cluster "edge-1"')], running)!;
    assert.deepEqual(refused.pendingRequests, []);
    assert.equal(refused.status, 'Running');
    assert.equal(refused.lastRefusal?.source, IMPORTER);
    assert.equal(refused.lastRefusal?.requestEventId, asked.id);
    assert.match(refused.lastRefusal?.reasons[0]?.message ?? '', /^cluster-not-held/);
    assert.equal(commandRefused(refused), undefined);
  });

  it('whatever order the owner\'s and the other service\'s answers arrive in', () => {
    const owner = rejection(12, asked, IMPORTER, 'cluster-not-held: lost');
    const other = rejection(11, asked, PROVISIONER, 'cluster-not-found: not known here');
    const one = replay([asked, other, owner], running)!;
    const two = replay([asked, owner, other], running)!;
    assert.deepEqual(one.pendingRequests, []);
    assert.deepEqual(two.pendingRequests, []);
    assert.deepEqual(one.lastRefusal, two.lastRefusal);
    assert.equal(one.lastRefusal?.source, IMPORTER);
  });
});

describe('a cluster registered for the tunnel, removed before its agent enrolled', () => {
  const issued = createEvent(TunnelRegistrationIssued, meta(0, IMPORTER), { registrationId: '6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b', clusterName: 'edge', tokenHash: 'b'.repeat(64), expiresAt: at(3600).toISOString() });
  const asked = deletion(10);
  const revoked = createEvent(TunnelRegistrationRevoked, meta(11, IMPORTER), { registrationId: '6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b' });
  const removed = createEvent(ClusterDeleted, meta(11, IMPORTER), { model: 'connected' });

  it('the importer revokes its registration and removes it: Deleted, nothing pending, whatever order the two facts arrive in', () => {
    const waiting = replay([issued, asked])!;
    assert.equal(waiting.status, 'Importing');
    assert.equal(commandRefused(waiting), 'deletion-requested');
    for (const order of [
      [revoked, removed],
      [removed, revoked],
    ]) {
      const gone = replay(order, waiting)!;
      assert.equal(gone.status, 'Deleted');
      assert.deepEqual(gone.pendingRequests, []);
    }
  });
});

describe('a platform cluster being deleted', () => {
  const requested = createEvent(ClusterRequested, meta(0, INVENTORY), {
    name: 'prod',
    model: 'platform-provisioned',
    kubernetesVersion: '1.34',
    controlPlane: { count: 1, machineSize: 'small' },
    nodePools: [],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  });
  const running = replay([requested, createEvent(ClusterReady, meta(1, PROVISIONER), { model: 'platform-provisioned', kubernetesVersion: 'v1.34.1', nodeCount: 1 })])!;
  const asked = deletion(10);

  it('the importer refusing it (not a connected cluster) is not the answer; the provisioner taking it up keeps it being deleted', () => {
    const notTheImporters = replay([asked, rejection(11, asked, IMPORTER, 'cluster-not-held: not a connected cluster')], running)!;
    assert.deepEqual(notTheImporters.pendingRequests.map((request) => request.eventId), [asked.id]);
    assert.equal(notTheImporters.lastRefusal, null);
    const takenUp = replay(
      [createEvent(ClusterProgress, meta(12, PROVISIONER), { model: 'platform-provisioned', phase: 'Deleting', controlPlane: { ready: 1, total: 1 }, nodePools: [], operation: { kind: 'delete' }, requestEventId: asked.id })],
      notTheImporters,
    )!;
    assert.deepEqual(takenUp.pendingRequests, []);
    assert.equal(commandRefused(takenUp), 'deletion-requested', 'the deletion is under way');
  });

  it('a cluster the provisioner lost: its refusal ends the request, shown on the cluster', () => {
    const refused = replay([asked, rejection(11, asked, PROVISIONER, 'cluster-not-found: cluster "edge-1" is not known here')], running)!;
    assert.deepEqual(refused.pendingRequests, []);
    assert.equal(refused.lastRefusal?.source, PROVISIONER);
    assert.equal(commandRefused(refused), undefined);
  });

  it('deleted, its id imported as a connected cluster: Importing, then Running, its history kept; the provisioner\'s word about it answers nothing', () => {
    const gone = replay([createEvent(ClusterDeleted, meta(5, PROVISIONER), { model: 'platform-provisioned' })], running)!;
    const importing = replay([importRequest(20)], gone)!;
    assert.equal(importing.status, 'Importing');
    assert.equal(importing.model, 'connected');
    assert.equal(importing.name, 'edge');
    const back = replay([imported(21)], importing)!;
    assert.equal(back.status, 'Running');
    const asked = deletion(30);
    const nothingToDo = createEvent(ClusterProgress, meta(31, PROVISIONER), { model: 'platform-provisioned', phase: 'Deleted', controlPlane: { ready: 0, total: 0 }, nodePools: [], operation: null, requestEventId: asked.id });
    const waiting = replay([asked, nothingToDo], back)!;
    assert.deepEqual(waiting.pendingRequests.map((request) => request.eventId), [asked.id], 'the importer answers for it now');
    assert.equal(waiting.progress, null);
    assert.equal(replay([createEvent(ClusterDeleted, meta(32, IMPORTER), { model: 'connected' })], waiting)!.status, 'Deleted');
  });
});
