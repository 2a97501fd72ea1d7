import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterImported,
  ClusterImportRequested,
  ClusterReachable,
  ClusterReady,
  ClusterUnreachable,
  ClusterVersionChanged,
  createEvent,
  defaultSupportMatrix,
  ImportRejected,
  type CloudEvent,
  type EventData,
} from '@flotilla/contracts';
import type { ProbeReport } from '../connectivity/cluster-probe.js';
import type { StoredCredential } from '../credentials/credential-store.js';
import { beginCheck, bindingReason, decideCheckOutcome, decideImportRequest, evolve, type ConnectedCluster } from './connected-cluster.js';

const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const meta = (second: number, subject = 'edge-1') => ({ subject, source: '/tests', time: at(second) });
const policy = { release: '4.3', matrix: defaultSupportMatrix };

const request = (second = 0, data: Partial<EventData<typeof ClusterImportRequested>> = {}) =>
  createEvent(ClusterImportRequested, meta(second), { name: 'edge', apiServer: 'https://edge.example:6443', credentialRef: 'edge-admin', provider: 'cncf', ...data });
const token: StoredCredential = { ref: 'edge-admin', kind: 'bearer-token', expiresAt: null, binding: { apiServer: 'https://edge.example:6443', caFingerprints: [] } };
const report: ProbeReport = {
  version: 'v1.31.5',
  distribution: 'vanilla',
  nodes: [
    { name: 'cp-0', role: 'control-plane', cpuCores: 4, memoryBytes: 8e9 },
    { name: 'worker-0', role: 'worker', cpuCores: 8, memoryBytes: 32e9 },
  ],
};

function replay(events: CloudEvent[]): ConnectedCluster | undefined {
  return events.reduce<ConnectedCluster | undefined>((cluster, event) => evolve(cluster, event) ?? cluster, undefined);
}

function imported(second: number) {
  return createEvent(ClusterImported, meta(second), { name: 'edge', distribution: 'vanilla', kubernetesVersion: 'v1.31.5', nodeCount: 2, capacity: { cpuCores: 12, memoryBytes: 40e9 }, warnings: [] });
}

describe('connected cluster (evolve)', () => {
  it('given a request: Requested, with what the request said', () => {
    const cluster = replay([request()]);
    assert.equal(cluster?.state, 'Requested');
    assert.equal(cluster?.apiServer, 'https://edge.example:6443');
    assert.equal(cluster?.credentialRef, 'edge-admin');
    assert.equal(cluster?.attempt, 1);
  });

  it('given a request then a rejection: Rejected with every reason', () => {
    const rejected = createEvent(ImportRejected, meta(1), { name: 'edge', reasons: [{ code: 'credential-not-found', message: 'no such credential' }] });
    const cluster = replay([request(), rejected]);
    assert.equal(cluster?.state, 'Rejected');
    assert.deepEqual(cluster?.reasons.map((reason) => reason.code), ['credential-not-found']);
  });

  it('given a check then ClusterImported: Imported with version, distribution and node count', () => {
    const checking = beginCheck(replay([request()])!, at(1));
    assert.equal(checking.state, 'Checking');
    const cluster = evolve(checking, imported(2));
    assert.equal(cluster?.state, 'Imported');
    assert.equal(cluster?.kubernetesVersion, 'v1.31.5');
    assert.equal(cluster?.nodeCount, 2);
    assert.equal(cluster?.importedAt, at(2).toISOString());
  });

  it('an imported cluster goes Unreachable and back, and follows version changes', () => {
    const reason = { code: 'tunnel-down', message: 'the tunnel is down' };
    const unreachable = replay([request(), imported(1), createEvent(ClusterUnreachable, meta(2), { reason, since: at(2).toISOString() })]);
    assert.equal(unreachable?.state, 'Unreachable');
    assert.deepEqual(unreachable?.reasons, [reason]);
    const back = evolve(unreachable, createEvent(ClusterReachable, meta(3), { since: at(3).toISOString() }));
    assert.equal(back?.state, 'Imported');
    const upgraded = evolve(back, createEvent(ClusterVersionChanged, meta(4), { previousVersion: 'v1.31.5', kubernetesVersion: 'v1.32.1' }));
    assert.equal(upgraded?.kubernetesVersion, 'v1.32.1');
  });

  it('reachability events change nothing for a cluster that is not imported', () => {
    const requested = replay([request()]);
    const reason = { code: 'tunnel-down', message: 'down' };
    assert.equal(evolve(requested, createEvent(ClusterUnreachable, meta(1), { reason, since: at(1).toISOString() })), undefined);
  });

  it('ClusterDeleted leaves a tombstone; a later request starts a fresh attempt', () => {
    const deleted = replay([request(), imported(1), createEvent(ClusterDeleted, meta(2), { model: 'connected' })]);
    assert.equal(deleted?.deletedAt, at(2).toISOString());
    const again = evolve(deleted, request(3, { name: 'edge-again' }));
    assert.equal(again?.state, 'Requested');
    assert.equal(again?.deletedAt, null);
    assert.equal(again?.kubernetesVersion, null);
    assert.equal(again?.attempt, 2);
  });

  it('events about clusters it never saw, or about other things, change nothing', () => {
    assert.equal(evolve(undefined, imported(0)), undefined);
    assert.equal(evolve(undefined, createEvent(ClusterDeleted, meta(0), { model: 'platform-provisioned' })), undefined);
    const ready = createEvent(ClusterReady, meta(1), { model: 'connected', kubernetesVersion: '1.31', nodeCount: 1 });
    assert.equal(evolve(replay([request()]), ready), undefined);
  });
});

describe('import request (decide)', () => {
  it('an unknown credentialRef: accepted and rejected at once, naming the ref', () => {
    const decision = decideImportRequest(undefined, request(0, { credentialRef: 'nope' }), undefined, at(0));
    assert.equal(decision.kind, 'accepted');
    assert.ok(decision.kind === 'accepted' && decision.rejection);
    const [reason] = decision.rejection.reasons;
    assert.equal(reason?.code, 'credential-not-found');
    assert.equal(reason?.field, 'credentialRef');
    assert.match(reason?.message ?? '', /"nope"/);
  });

  it('a known, valid credential: accepted for the connectivity check', () => {
    assert.deepEqual(decideImportRequest(undefined, request(), token, at(0)), { kind: 'accepted' });
  });

  it('lists every problem: no API server for a CNCF cluster, an expired cloud-account credential', () => {
    const expired: StoredCredential = { ref: 'edge-admin', kind: 'cloud-account', expiresAt: at(0).toISOString(), binding: null };
    const decision = decideImportRequest(undefined, request(5, { apiServer: undefined }), expired, at(5));
    assert.ok(decision.kind === 'accepted' && decision.rejection);
    assert.deepEqual(decision.rejection.reasons.map((reason) => reason.code), ['api-server-required', 'credential-expired', 'credential-kind-mismatch']);
  });

  it('a cloud provider may leave the API server out, given where the provider finds the cluster', () => {
    const cloud: StoredCredential = { ref: 'aws', kind: 'cloud-account', expiresAt: null, binding: null };
    const location = { clusterName: 'prod', region: 'eu-west-1' };
    assert.deepEqual(decideImportRequest(undefined, request(0, { provider: 'eks', apiServer: undefined, credentialRef: 'aws', cloud: location }), cloud, at(0)), { kind: 'accepted' });
    const recorded = replay([request(0, { provider: 'eks', apiServer: undefined, credentialRef: 'aws', cloud: location })]);
    assert.deepEqual(recorded?.cloud, location);
  });

  it('a cloud account without a cloud location: cloud-location-required, naming the field', () => {
    const cloud: StoredCredential = { ref: 'aws', kind: 'cloud-account', expiresAt: null, binding: null };
    const decision = decideImportRequest(undefined, request(0, { provider: 'eks', apiServer: undefined, credentialRef: 'aws' }), cloud, at(0));
    assert.ok(decision.kind === 'accepted' && decision.rejection);
    assert.deepEqual(decision.rejection.reasons.map((reason) => [reason.code, reason.field]), [['cloud-location-required', 'cloud']]);
  });

  it('a token bound to another server: rejected at once with credential-server-mismatch on apiServer; spellings of the bound one pass', () => {
    const decision = decideImportRequest(undefined, request(0, { apiServer: 'https://attacker.example:6443' }), token, at(0));
    assert.ok(decision.kind === 'accepted' && decision.rejection);
    assert.deepEqual(decision.rejection.reasons.map((reason) => [reason.code, reason.field]), [['credential-server-mismatch', 'apiServer']]);
    assert.match(decision.rejection.reasons[0]?.message ?? '', /bound to https:\/\/edge\.example:6443 and is never sent to https:\/\/attacker\.example:6443/);
    for (const apiServer of ['https://EDGE.example:6443/', 'https://edge.example:6443//']) {
      assert.deepEqual(decideImportRequest(undefined, request(0, { apiServer }), token, at(0)), { kind: 'accepted' }, apiServer);
    }
  });

  it('a token registered before bindings (none stored): credential-unbound, naming credentialRef', () => {
    const legacy: StoredCredential = { ...token, binding: null };
    const decision = decideImportRequest(undefined, request(), legacy, at(0));
    assert.ok(decision.kind === 'accepted' && decision.rejection);
    assert.deepEqual(decision.rejection.reasons.map((reason) => [reason.code, reason.field]), [['credential-unbound', 'credentialRef']]);
  });

  it('bindingReason: none for a cloud account or a bound credential without an address; a reason otherwise', () => {
    const cloud: StoredCredential = { ref: 'aws', kind: 'cloud-account', expiresAt: null, binding: null };
    assert.equal(bindingReason(cloud, 'https://anywhere.example'), undefined);
    assert.equal(bindingReason(token, undefined), undefined);
    assert.equal(bindingReason(token, 'https://edge.example:6443'), undefined);
    assert.equal(bindingReason(token, 'https://edge.example')?.code, 'credential-server-mismatch');
    assert.equal(bindingReason({ ...token, binding: null }, undefined)?.code, 'credential-unbound');
  });

  it('refuses a second request while one is in progress or the cluster is imported', () => {
    const requested = replay([request()]);
    assert.deepEqual(decideImportRequest(requested, request(1), token, at(1)).kind, 'refused');
    const decision = decideImportRequest(replay([request(), imported(1)]), request(2), token, at(2));
    assert.equal(decision.kind === 'refused' && decision.code, 'already-imported');
  });

  it('a rejected or deleted cluster may be requested again', () => {
    const rejected = replay([request(), createEvent(ImportRejected, meta(1), { reasons: [{ code: 'x', message: 'y' }] })]);
    assert.equal(decideImportRequest(rejected, request(2), token, at(2)).kind, 'accepted');
    const deleted = replay([request(), imported(1), createEvent(ClusterDeleted, meta(2), { model: 'connected' })]);
    assert.equal(decideImportRequest(deleted, request(3), token, at(3)).kind, 'accepted');
  });
});

describe('connectivity check outcome (decide)', () => {
  const checking = () => beginCheck(replay([request()])!, at(1));

  it('a version inside the 4.3 third-party range: imported, with the not-validated warning and the policy revision', () => {
    const decision = decideCheckOutcome(checking(), { ok: true, report }, token, policy);
    assert.equal(decision.kind, 'imported');
    assert.ok(decision.kind === 'imported');
    assert.equal(decision.data.nodeCount, 2);
    assert.deepEqual(decision.data.capacity, { cpuCores: 12, memoryBytes: 40e9 });
    assert.deepEqual(decision.data.warnings.map((warning) => warning.code), ['onboard-unvalidated']);
    assert.equal(decision.data.policyRevision, defaultSupportMatrix.revision);
  });

  it('a version outside the range (1.35 on 4.3, 1.18 anywhere): rejected by the onboarding policy', () => {
    for (const version of ['v1.35.0', 'v1.18.20']) {
      const decision = decideCheckOutcome(checking(), { ok: true, report: { ...report, version } }, token, policy);
      assert.equal(decision.kind, 'rejected', version);
      assert.deepEqual(decision.data.name, 'edge');
      assert.equal(decision.kind === 'rejected' && decision.data.reasons[0]?.code, 'onboard-out-of-range', version);
    }
  });

  it('the policy handed in decides and is recorded: a release whose range ends below the version rejects it, naming the revision and the release', () => {
    const version = 'v1.33.4';
    const table: [string, string, string][] = [
      ['4.3', 'imported', defaultSupportMatrix.revision],
      ['4.2', 'imported', defaultSupportMatrix.revision],
      ['4.1', 'rejected', defaultSupportMatrix.revision],
    ];
    for (const [release, kind, revision] of table) {
      const decision = decideCheckOutcome(checking(), { ok: true, report: { ...report, version } }, token, { release, matrix: defaultSupportMatrix });
      assert.equal(decision.kind, kind, release);
      assert.deepEqual([decision.data.policyRevision, decision.data.release], [revision, release], release);
      if (decision.kind === 'rejected') assert.equal(decision.data.reasons[0]?.code, 'onboard-out-of-range');
    }
  });

  it('an unparseable version is rejected with the policy code', () => {
    const decision = decideCheckOutcome(checking(), { ok: true, report: { ...report, version: 'banana' } }, token, policy);
    assert.equal(decision.kind === 'rejected' && decision.data.reasons[0]?.code, 'version-invalid');
  });

  it('a credential with an expiry: imported with a warning saying when it stops working', () => {
    const expiring: StoredCredential = { ...token, expiresAt: at(3600).toISOString() };
    const decision = decideCheckOutcome(checking(), { ok: true, report }, expiring, policy);
    assert.ok(decision.kind === 'imported');
    assert.ok(decision.data.warnings.some((warning) => warning.code === 'credential-expires' && warning.message.includes(at(3600).toISOString())));
  });

  it('a cluster that answers but is not ready: imported with a warning; node pods add up to the capacity', () => {
    const decision = decideCheckOutcome(checking(), { ok: true, report: { ...report, ready: false, nodes: report.nodes.map((node) => ({ ...node, pods: 110 })) } }, token, policy);
    assert.ok(decision.kind === 'imported');
    assert.ok(decision.data.warnings.some((warning) => warning.code === 'api-server-not-ready'));
    assert.equal(decision.data.capacity.pods, 220);
  });

  it('a failed probe: rejected with each failure as a reason', () => {
    const decision = decideCheckOutcome(
      checking(),
      { ok: false, failures: [{ code: 'unauthorized', message: 'the token was refused (401)' }, { code: 'forbidden', message: 'cannot list nodes' }] },
      token,
      policy,
    );
    assert.ok(decision.kind === 'rejected');
    assert.deepEqual(decision.data.reasons.map((reason) => reason.code), ['unauthorized', 'forbidden']);
    assert.match(decision.data.reasons[0]?.message ?? '', /401/);
  });
});
