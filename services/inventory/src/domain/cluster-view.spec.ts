import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterImported,
  ClusterProvisioningFailed,
  ClusterReady,
  ClusterRequested,
  EventRejected,
  NodesProvisioned,
  NodeUnhealthy,
  createEvent,
  type CloudEvent,
} from '@flotilla/contracts';
import { evolve, summarise, type ClusterView } from './cluster-view.js';
import { projectBatch } from './fleet-projection.js';

const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const meta = (second: number) => ({ subject: 'prod-1', source: '/tests', time: at(second) });

const requested = createEvent(ClusterRequested, meta(0), {
  name: 'prod',
  model: 'platform-provisioned',
  kubernetesVersion: '1.34',
  controlPlane: { count: 1, machineSize: 'small' },
  nodePools: [],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
});
const nodes = createEvent(NodesProvisioned, meta(1), {
  model: 'platform-provisioned',
  nodes: [{ name: 'prod-1-cp-0', role: 'control-plane', addresses: ['10.0.0.1'] }],
});
const ready = createEvent(ClusterReady, meta(2), { model: 'platform-provisioned', kubernetesVersion: 'v1.34.1', nodeCount: 1 });

function replay(events: CloudEvent[]): ClusterView | undefined {
  return events.reduce<ClusterView | undefined>((view, event) => evolve(view, event) ?? view, undefined);
}

describe('fleet projection (evolve)', () => {
  it('given a request, then nodes, then ready: the cluster is Running with its nodes', () => {
    const view = replay([requested, nodes, ready]);
    assert.equal(view?.status, 'Running');
    assert.equal(view?.name, 'prod');
    assert.equal(view?.kubernetesVersion, 'v1.34.1');
    assert.deepEqual(view?.nodes.map((node) => node.name), ['prod-1-cp-0']);
  });

  it('given events out of order: a late NodesProvisioned does not take a Running cluster back', () => {
    const view = replay([ready, requested, nodes]);
    assert.equal(view?.status, 'Running');
    assert.equal(view?.name, 'prod');
    assert.equal(view?.nodes.length, 1);
  });

  it('given a failure: the cluster is Failed with every reason', () => {
    const failed = createEvent(ClusterProvisioningFailed, meta(3), {
      reasons: [
        { code: 'version-not-creatable', message: '1.30 cannot be created on 4.3', field: 'kubernetesVersion' },
        { code: 'cidr-overlap', message: 'pod and service CIDRs overlap', field: 'network' },
      ],
    });
    const view = replay([requested, failed]);
    assert.equal(view?.status, 'Failed');
    assert.equal(view?.reasons.length, 2);
  });

  it('given an import: a connected cluster with distribution and warnings', () => {
    const imported = createEvent(ClusterImported, meta(0), {
      name: 'eks-a',
      distribution: 'eks',
      kubernetesVersion: 'v1.31.5-eks-113cf36',
      nodeCount: 3,
      capacity: { cpuCores: 12, memoryBytes: 48e9 },
      warnings: [{ code: 'not-validated', message: '1.31 is in range but not validated' }],
    });
    const view = replay([imported]);
    assert.equal(view?.model, 'connected');
    assert.equal(view?.distribution, 'eks');
    assert.equal(view?.status, 'Running');
    assert.equal(view?.warnings.length, 1);
  });

  it('an EventRejected about a known cluster is shown on it with its reason, and changes nothing else', () => {
    const rejected = createEvent(EventRejected, meta(5), {
      rejectedEventId: 'x',
      code: 'schema-invalid',
      reason: 'data.name: Required',
      consumer: 'provisioner__cluster_requested_v1',
      deadLetterSubject: 'flotilla.dlq.provisioner__cluster_requested_v1',
    });
    const before = replay([requested])!;
    const after = evolve(before, rejected)!;
    assert.deepEqual(after.lastRefusal, {
      eventId: rejected.id,
      type: 'EventRejected',
      source: '/tests',
      time: rejected.time,
      requestEventId: 'x',
      requestType: null,
      reasons: [{ code: 'schema-invalid', message: 'data.name: Required' }],
    });
    assert.deepEqual({ ...after, lastRefusal: null, lastEventTime: before.lastEventTime, factTimes: before.factTimes }, before, 'the request it does not name is still pending');
    assert.equal(evolve(undefined, rejected), undefined, 'no cluster for an unknown id');
    assert.equal(summarise(rejected), 'EventRejected: schema-invalid: data.name: Required');
  });
});

describe('connected clusters imported again', () => {
  it('given a rejected import, a new request and a successful import make it Running', async () => {
    const { ClusterImportRequested, ImportRejected } = await import('@flotilla/contracts');
    const asked = createEvent(ClusterImportRequested, meta(0), { name: 'edge', credentialRef: 'cred-1', provider: 'cncf', apiServer: 'https://edge.example:6443' });
    const refused = createEvent(ImportRejected, meta(1), { reasons: [{ code: 'credential-not-found', message: 'credential "cred-1" not found' }] });
    const again = createEvent(ClusterImportRequested, meta(2), { name: 'edge', credentialRef: 'cred-2', provider: 'cncf', apiServer: 'https://edge.example:6443' });
    const imported = createEvent(ClusterImported, meta(3), { name: 'edge', distribution: 'k3s', kubernetesVersion: 'v1.30.4+k3s1', nodeCount: 1, capacity: { cpuCores: 2, memoryBytes: 4e9 }, warnings: [] });
    assert.equal(replay([asked, refused])?.status, 'Rejected');
    assert.equal(replay([asked, refused, again])?.status, 'Importing');
    const view = replay([asked, refused, again, imported]);
    assert.equal(view?.status, 'Running');
    assert.deepEqual(view?.reasons, []);
  });
});

describe('history lines', () => {
  it('name the version policy a decision was made under', () => {
    const decided = createEvent(ClusterReady, meta(2), { model: 'platform-provisioned', kubernetesVersion: 'v1.34.1', nodeCount: 1, policyRevision: '2025-11-23.1', release: '4.3' } as never);
    assert.equal(summarise(decided), 'ClusterReady [policy 2025-11-23.1, release 4.3]');
    assert.equal(summarise(ready), 'ClusterReady');
  });

  it('say which user\'s host failed its health check and what is done about it, and change nothing else', () => {
    const unhealthy = createEvent(NodeUnhealthy, meta(3), {
      model: 'user-provisioned',
      node: 'prod-1-workers-0',
      address: '192.168.1.11',
      role: 'worker',
      pool: 'workers',
      unhealthySince: at(1).toISOString(),
      remediation: 'reported',
      message: 'an operator has to look at 192.168.1.11:22',
    });
    assert.equal(summarise(unhealthy), 'NodeUnhealthy: prod-1-workers-0 (192.168.1.11), reported: an operator has to look at 192.168.1.11:22');
    const view = evolve(undefined, requested)!;
    assert.equal(evolve(view, unhealthy), undefined, 'the view stays as it is');
    const { views, history } = projectBatch(new Map([[view.id, view]]), [unhealthy]);
    assert.deepEqual([views.size, history.map((line) => [line.type, line.summary])], [0, [[NodeUnhealthy.type, summarise(unhealthy)]]]);
  });
});

describe('labels, which scoped access follows', () => {
  it('an import request naming an existing cluster changes nothing about it', async () => {
    const { ClusterImportRequested } = await import('@flotilla/contracts');
    const teamB = createEvent(ClusterRequested, meta(0), { ...requested.data, labels: { team: 'b' } });
    const takeover = createEvent(ClusterImportRequested, meta(4), { name: 'mine now', credentialRef: 'c', provider: 'cncf', apiServer: 'https://x.example', labels: { team: 'a' } });
    const running = replay([teamB, ready])!;
    assert.deepEqual(running.labels, { team: 'b' });
    const after = evolve(running, takeover)!;
    assert.deepEqual({ ...after, pendingRequests: [], lastEventTime: running.lastEventTime }, running);
    assert.deepEqual(after.pendingRequests.map((request) => [request.eventId, request.type]), [[takeover.id, 'ClusterImportRequested']]);
  });

  it('a second ClusterRequested for a known id does not relabel it', () => {
    const first = createEvent(ClusterRequested, meta(0), { ...requested.data, labels: { team: 'b' } });
    const second = createEvent(ClusterRequested, meta(1), { ...requested.data, labels: { team: 'a' } });
    assert.deepEqual(replay([first, second])?.labels, { team: 'b' });
  });
});

describe('node pools scaled', () => {
  it('given a pool scaled down and up: removed nodes go, the pool nodes are merged in', async () => {
    const { NodePoolScaled } = await import('@flotilla/contracts');
    const twoWorkers = createEvent(NodesProvisioned, meta(1), {
      model: 'platform-provisioned',
      nodes: [
        { name: 'prod-1-cp-0', role: 'control-plane', addresses: ['10.0.0.1'] },
        { name: 'prod-1-w-0', role: 'worker', pool: 'w', addresses: ['10.0.0.2'] },
        { name: 'prod-1-w-1', role: 'worker', pool: 'w', addresses: ['10.0.0.3'] },
      ],
    });
    const scaled = createEvent(NodePoolScaled, meta(3), {
      model: 'platform-provisioned',
      pool: 'w',
      from: 2,
      to: 2,
      requested: 2,
      nodes: [
        { name: 'prod-1-w-0', role: 'worker', pool: 'w', addresses: ['10.0.0.2'] },
        { name: 'prod-1-w-2', role: 'worker', pool: 'w', addresses: ['10.0.0.4'] },
      ],
      removed: ['prod-1-w-1'],
    });
    const view = replay([requested, twoWorkers, ready, scaled]);
    assert.deepEqual(view?.nodes.map((node) => node.name), ['prod-1-cp-0', 'prod-1-w-0', 'prod-1-w-2']);
    assert.equal(view?.status, 'Running');
  });
});
