import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterDeletionRequested,
  ClusterImported,
  ClusterImportRequested,
  ClusterReady,
  ClusterRequested,
  ClusterUnreachable,
  createEvent,
  ImportRejected,
  TunnelConnected,
  TunnelDisconnected,
  TunnelRegistrationIssued,
  TunnelRegistrationRedeemed,
  TunnelRegistrationRevoked,
  type CloudEvent,
} from '@flotilla/contracts';
import { evolve, summarise, TUNNEL_CREDENTIAL_REF, type ClusterView } from './cluster-view.js';

/*
 * Register mode: a cluster behind a firewall is registered (the importer issues a one-time token),
 * its agent enrolls at the tunnel broker and connects, and the importer imports it through the
 * tunnel. The inventory shows it from the registration on, whatever order the facts arrive in.
 */

const ID = 'edge-1';
const REGISTRATION = '6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
const SECOND_REGISTRATION = '7a2d3b9f-4c5e-4f60-9bac-1d2e3f4a5b6c';
const LABELS = { team: 'edge' };
const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const IMPORTER = '/flotilla/importer';
const BROKER = '/flotilla/tunnel-broker';
const meta = (second: number, source = IMPORTER) => ({ subject: ID, source, time: at(second) });

const issue = (second: number, registrationId = REGISTRATION) =>
  createEvent(TunnelRegistrationIssued, meta(second), { registrationId, clusterName: 'edge', tokenHash: 'b'.repeat(64), expiresAt: at(second + 3600).toISOString(), labels: LABELS });
const redeem = (second: number, registrationId = REGISTRATION) =>
  createEvent(TunnelRegistrationRedeemed, meta(second, BROKER), { registrationId, agentId: 'agent-edge', certificateSerial: '0a1b', certificateExpiresAt: at(second + 86_400).toISOString() });
const revoke = (second: number, registrationId = REGISTRATION) => createEvent(TunnelRegistrationRevoked, meta(second), { registrationId });
const importThroughTunnel = (second: number) => createEvent(ClusterImportRequested, meta(second), { name: 'edge', credentialRef: TUNNEL_CREDENTIAL_REF, provider: 'cncf', labels: LABELS });
const connect = (second: number) => createEvent(TunnelConnected, meta(second, BROKER), { agentId: 'agent-edge', agentVersion: '0.4.0' });
const disconnect = (second: number) => createEvent(TunnelDisconnected, meta(second, BROKER), { agentId: 'agent-edge', reason: 'agent closed the connection' });
const imported = (second: number) =>
  createEvent(ClusterImported, meta(second), { name: 'edge', distribution: 'k3s', kubernetesVersion: 'v1.33.4+k3s1', nodeCount: 1, capacity: { cpuCores: 2, memoryBytes: 4e9 }, warnings: [] });

const issued = issue(0);
const redeemed = redeem(1);
const asked = importThroughTunnel(2);
const connected = connect(3);
const done = imported(4);

function replay(events: readonly CloudEvent[], from?: ClusterView): ClusterView | undefined {
  return events.reduce<ClusterView | undefined>((view, event) => evolve(view, event) ?? view, from);
}

/** What the API shows of a cluster (its fact times stay inside). */
const shown = ({ factTimes: _factTimes, ...view }: ClusterView) => view;

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let index = 0; index < items.length; index++) {
    const rest = [...items.slice(0, index), ...items.slice(index + 1)];
    for (const tail of permutations(rest)) yield [items[index]!, ...tail];
  }
}

const name = (event: CloudEvent) => event.type.split('.').slice(-2, -1)[0];

describe('a cluster registered for the tunnel, from its registration to connected', () => {
  it('given a registration: a connected cluster reached through the tunnel, Importing, waiting for its agent', () => {
    const view = replay([issued])!;
    assert.equal(view.name, 'edge');
    assert.equal(view.model, 'connected');
    assert.deepEqual(view.labels, LABELS);
    assert.equal(view.status, 'Importing');
    assert.equal(view.access, 'tunnel');
    assert.equal(view.tunnel, null, 'its agent never connected');
    assert.deepEqual(
      view.pendingRequests.map((request) => [request.eventId, request.type, request.registrationId]),
      [[issued.id, 'TunnelRegistrationIssued', REGISTRATION]],
    );
    assert.match(view.pendingRequests[0]!.summary, /^register "edge": waiting for its tunnel agent to enroll and connect \(registration 6f1c2a8e-.*, token valid until 2026-11-23T13:00:00.000Z\)$/);
  });

  it('when its agent enrolls, the registration is answered and the import through the tunnel waits for the importer', () => {
    const view = replay([issued, redeemed, asked])!;
    assert.equal(view.status, 'Importing');
    assert.deepEqual(
      view.pendingRequests.map((request) => [request.type, request.summary]),
      [['ClusterImportRequested', 'import "edge" through its tunnel']],
    );
  });

  it('when it connects and is imported: Running, its tunnel connected, nothing pending', () => {
    const view = replay([issued, redeemed, asked, connected, done])!;
    assert.equal(view.status, 'Running');
    assert.equal(view.tunnel, 'connected');
    assert.equal(view.access, 'tunnel');
    assert.equal(view.reachable, true);
    assert.deepEqual(view.labels, LABELS);
    assert.deepEqual(view.pendingRequests, []);
  });

  it('then its tunnel goes down and up again, the importer says so, and its removal takes it away', () => {
    const removal = createEvent(ClusterDeletionRequested, meta(9, '/flotilla/inventory'), { reason: 'decommissioned' });
    const down = replay([disconnect(5), createEvent(ClusterUnreachable, meta(6), { reason: { code: 'tunnel-down', message: 'the tunnel is down' }, since: at(5).toISOString() })], replay([issued, redeemed, asked, connected, done]))!;
    assert.equal(down.tunnel, 'disconnected');
    assert.equal(down.reachable, false);
    assert.equal(down.status, 'Running');
    const up = replay([connect(7)], down)!;
    assert.equal(up.tunnel, 'connected');
    const gone = replay([removal, createEvent(ClusterDeleted, meta(10), { model: 'connected' }), disconnect(11)], up)!;
    assert.equal(gone.status, 'Deleted');
    assert.equal(gone.tunnel, 'disconnected', 'the broker stopped its agent');
    assert.deepEqual(gone.pendingRequests, []);
  });

  it('a registration naming a cluster that exists changes nothing about it: only its history shows it', () => {
    const platform = createEvent(ClusterRequested, meta(0, '/flotilla/inventory'), {
      name: 'edge',
      labels: { team: 'b' },
      model: 'platform-provisioned',
      kubernetesVersion: '1.34',
      controlPlane: { count: 1, machineSize: 'small' },
      nodePools: [],
      network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    });
    const running = replay([platform, createEvent(ClusterReady, meta(1), { model: 'platform-provisioned', kubernetesVersion: 'v1.34.1', nodeCount: 1 })])!;
    assert.equal(running.access, 'direct');
    assert.equal(evolve(running, issue(5)), undefined);
    const direct = replay([createEvent(ClusterImportRequested, meta(0), { name: 'edge', credentialRef: 'kubeconfig-edge', provider: 'cncf', apiServer: 'https://edge.example:6443', labels: { team: 'b' } }), imported(1)])!;
    assert.equal(direct.access, 'direct');
    assert.equal(evolve(direct, issue(5)), undefined);
    assert.equal(summarise(issue(5)), `TunnelRegistrationIssued: "edge", registration ${REGISTRATION}, token valid until 2026-11-23T13:00:05.000Z`);
  });

  it('a rejected or deleted connected cluster may be registered again', () => {
    const rejected = replay([createEvent(ImportRejected, meta(1), { reasons: [{ code: 'unreachable', message: 'no answer' }] })], replay([createEvent(ClusterImportRequested, meta(0), { name: 'edge', credentialRef: 'c', provider: 'cncf', apiServer: 'https://edge.example' })]))!;
    assert.equal(rejected.status, 'Rejected');
    const again = evolve(rejected, issue(5))!;
    assert.equal(again.status, 'Importing');
    assert.equal(again.access, 'tunnel');
    assert.deepEqual(again.reasons, []);
    assert.equal(again.pendingRequests.length, 1);
  });
});

describe('a registration revoked before its agent enrolled', () => {
  it('leaves the cluster that waited only for it Rejected, with the reason and the registration named', () => {
    const revocation = revoke(5);
    const view = replay([issued, revocation])!;
    assert.equal(view.status, 'Rejected');
    assert.deepEqual(view.reasons.map((reason) => reason.code), ['registration-revoked']);
    assert.match(view.reasons[0]!.message, /registration 6f1c2a8e-.* was revoked before the tunnel agent of the cluster enrolled/);
    assert.deepEqual(view.pendingRequests, []);
    assert.deepEqual(view.lastRefusal, {
      eventId: revocation.id,
      type: 'TunnelRegistrationRevoked',
      source: IMPORTER,
      time: revocation.time,
      requestEventId: issued.id,
      requestType: 'TunnelRegistrationIssued',
      reasons: view.reasons,
    });
  });

  it('delivered before the registration: the same cluster, the same refusal', () => {
    const revocation = revoke(5);
    assert.deepEqual(replay([revocation, issued]), replay([issued, revocation]));
  });

  it('changes nothing about a cluster that got further, or that waits for another registration', () => {
    const imported_ = replay([issued, redeemed, asked, connected, done])!;
    const afterSecond = replay([issue(10, SECOND_REGISTRATION), revoke(11, SECOND_REGISTRATION)], imported_)!;
    assert.equal(afterSecond.status, 'Running');
    assert.equal(afterSecond.lastRefusal, null);

    const two = replay([issued, issue(6, SECOND_REGISTRATION)])!;
    const oneRevoked = evolve(two, revoke(7))!;
    assert.equal(oneRevoked.status, 'Importing', 'the second registration still waits');
    assert.deepEqual(
      oneRevoked.pendingRequests.map((request) => request.registrationId),
      [SECOND_REGISTRATION],
    );
  });

  it('a new registration after the refusal makes it Importing again', () => {
    const view = replay([issued, revoke(5), issue(10, SECOND_REGISTRATION)])!;
    assert.equal(view.status, 'Importing');
    assert.deepEqual(view.reasons, []);
    assert.deepEqual(
      view.pendingRequests.map((request) => request.registrationId),
      [SECOND_REGISTRATION],
    );
  });
});

describe('the tunnel facts apply in the order they happened, whatever order they arrive in', () => {
  it('given TunnelConnected before its registration: the cluster is known, connected, and the registration waits for nothing', () => {
    const first = replay([connected])!;
    assert.deepEqual([first.model, first.status, first.tunnel, first.access, first.name], ['connected', 'Importing', 'connected', 'tunnel', null]);
    const view = replay([issued], first)!;
    assert.equal(view.name, 'edge');
    assert.deepEqual(view.labels, LABELS);
    assert.equal(view.status, 'Importing');
    assert.equal(view.tunnel, 'connected');
    assert.deepEqual(view.pendingRequests, [], 'its agent connected after the registration');
  });

  it('given ClusterImported before TunnelConnected: Running, then the tunnel recorded on it', () => {
    const importedFirst = replay([issued, redeemed, asked, done])!;
    assert.equal(importedFirst.status, 'Running');
    assert.equal(importedFirst.tunnel, null);
    const view = evolve(importedFirst, connected)!;
    assert.equal(view.status, 'Running');
    assert.equal(view.tunnel, 'connected');
    assert.equal(view.access, 'tunnel');
  });

  it('given ClusterImported first of all: the registration and the request arriving after it still name and label it', () => {
    const view = replay([done, connected, issued, asked, redeemed])!;
    assert.equal(view.status, 'Running');
    assert.deepEqual(view.labels, LABELS, 'scoped callers see it');
    assert.equal(view.access, 'tunnel');
    assert.deepEqual(view.pendingRequests, []);
  });

  it('a late TunnelConnected never hides a later disconnection, nor a late disconnection a later connection', () => {
    assert.equal(replay([disconnect(6), connect(5)])?.tunnel, 'disconnected');
    assert.equal(replay([connect(7), disconnect(6)])?.tunnel, 'connected');
    assert.equal(replay([done, disconnect(6), connect(5)])?.tunnel, 'disconnected', 'on a known cluster too');
  });

  const lives: { name: string; events: CloudEvent[]; expect: (view: ClusterView) => void }[] = [
    {
      name: 'registered, enrolled, requested, connected, imported, disconnected',
      events: [issued, redeemed, asked, connected, done, disconnect(5)],
      expect: (view) => {
        assert.equal(view.status, 'Running');
        assert.equal(view.tunnel, 'disconnected');
        assert.equal(view.access, 'tunnel');
        assert.deepEqual(view.labels, LABELS);
        assert.deepEqual(view.pendingRequests, []);
      },
    },
    {
      name: 'registered, enrolled, connected, the import through the tunnel refused',
      events: [issued, redeemed, asked, connected, createEvent(ImportRejected, meta(4), { reasons: [{ code: 'version-unsupported', message: '1.25 is not supported' }] })],
      expect: (view) => {
        assert.equal(view.status, 'Rejected');
        assert.equal(view.tunnel, 'connected');
        assert.deepEqual(view.pendingRequests, []);
        assert.equal(view.lastRefusal?.type, 'ImportRejected');
      },
    },
    {
      name: 'registered, and revoked before its agent enrolled',
      events: [issued, revoke(1)],
      expect: (view) => {
        assert.equal(view.status, 'Rejected');
        assert.equal(view.lastRefusal?.requestEventId, issued.id);
      },
    },
    {
      name: 'registered, connected, removed while its import waited, its agent stopped',
      events: [issued, redeemed, asked, connected, createEvent(ClusterDeleted, meta(6), { model: 'connected' }), disconnect(7)],
      expect: (view) => {
        assert.equal(view.status, 'Deleted');
        assert.equal(view.tunnel, 'disconnected');
        assert.deepEqual(view.pendingRequests, [], 'a request made before the deletion is moot, however late it arrives');
      },
    },
  ];
  for (const { name: title, events, expect } of lives) {
    it(`${title}: every order of arrival ends in the view the API shows of the events in time order`, () => {
      const reference = replay(events)!;
      expect(reference);
      for (const order of permutations(events)) assert.deepEqual(shown(replay(order)!), shown(reference), order.map(name).join(' '));
    });
  }
});
