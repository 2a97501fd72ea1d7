import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterImported, ClusterImportRequested, ClusterUnreachable, createEvent, defaultSupportMatrix, type CloudEvent, type EventData } from '@flotilla/contracts';
import { beginCheck, decideCheckOutcome, decideImportRequest, evolve, type ConnectedCluster } from './connected-cluster.js';
import { decideTunnelChange, decideTunnelCheckEnd, reachedThroughTunnel, TUNNEL_CREDENTIAL_REF, tunnelImportRequest } from './tunnel-cluster.js';
import type { TunnelLink } from './tunnel-link.js';

const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const meta = (second: number, subject = 'edge-7-a1b2c3') => ({ subject, source: '/tests', time: at(second) });
const policy = { release: '4.3', matrix: defaultSupportMatrix };

const registration = { clusterName: 'edge 7', labels: { site: 'north' } };
const request = (second = 0, data: Partial<EventData<typeof ClusterImportRequested>> = {}) => createEvent(ClusterImportRequested, meta(second), { ...tunnelImportRequest(registration), ...data });
const link = (state: TunnelLink['state'], second: number, reason: string | null = null): TunnelLink => ({ clusterId: 'edge-7-a1b2c3', state, agentId: 'agent-1', agentVersion: '0.1.0', reason, since: at(second).toISOString() });

function replay(events: CloudEvent[]): ConnectedCluster | undefined {
  return events.reduce<ConnectedCluster | undefined>((cluster, event) => evolve(cluster, event) ?? cluster, undefined);
}

const imported = (second: number) =>
  createEvent(ClusterImported, meta(second), { name: 'edge 7', distribution: 'k3s', kubernetesVersion: 'v1.31.4+k3s1', nodeCount: 2, capacity: { cpuCores: 4, memoryBytes: 8e9 }, warnings: [] });

describe('a cluster registered through the tunnel: the import request', () => {
  it('follows a redeemed registration: CNCF, no address, the tunnel as credential, the registration labels', () => {
    assert.deepEqual(tunnelImportRequest(registration), { name: 'edge 7', credentialRef: TUNNEL_CREDENTIAL_REF, provider: 'cncf', labels: { site: 'north' } });
    assert.deepEqual(tunnelImportRequest({ clusterName: 'bare', labels: {} }), { name: 'bare', credentialRef: TUNNEL_CREDENTIAL_REF, provider: 'cncf' });
    const cluster = replay([request()]);
    assert.equal(cluster?.state, 'Requested');
    assert.equal(cluster?.apiServer, null);
    assert.ok(cluster && reachedThroughTunnel(cluster));
  });

  it('is accepted for the check when the broker redeemed a registration of the cluster, with no stored credential to look up', () => {
    assert.deepEqual(decideImportRequest(undefined, request(), { kind: 'tunnel', redeemed: true }, at(1)), { kind: 'accepted' });
  });

  it('is rejected at once without a redeemed registration (no one can name the tunnel to reach any cluster)', () => {
    for (const access of [{ kind: 'tunnel' as const, redeemed: false }, undefined]) {
      const decision = decideImportRequest(undefined, request(), access, at(1));
      assert.equal(decision.kind, 'accepted');
      assert.deepEqual(decision.kind === 'accepted' && decision.rejection?.reasons.map((reason) => [reason.code, reason.field]), [['tunnel-not-registered', 'credentialRef']]);
    }
  });

  it('is rejected naming each field that does not fit a cluster reached only through the broker', () => {
    const decision = decideImportRequest(undefined, request(0, { apiServer: 'https://edge.example:6443', provider: 'eks', cloud: { clusterName: 'edge', region: 'eu-west-1' } }), { kind: 'tunnel', redeemed: true }, at(1));
    assert.ok(decision.kind === 'accepted' && decision.rejection);
    assert.deepEqual(
      decision.rejection.reasons.map((reason) => [reason.code, reason.field]),
      [
        ['tunnel-request-invalid', 'apiServer'],
        ['tunnel-request-invalid', 'provider'],
        ['tunnel-request-invalid', 'cloud'],
      ],
    );
  });

  it('is refused like any other while the cluster is imported or being imported', () => {
    const decision = decideImportRequest(replay([request()]), request(5), { kind: 'tunnel', redeemed: true }, at(6));
    assert.deepEqual(decision.kind === 'refused' && decision.code, 'import-in-progress');
  });

  it('a successful check imports it without a credential expiry warning (the importer uses its own identity)', () => {
    const checking = beginCheck(replay([request()])!, at(1));
    const decision = decideCheckOutcome(checking, { ok: true, report: { version: 'v1.31.4+k3s1', distribution: 'k3s', nodes: [{ name: 'n1', role: 'control-plane', cpuCores: 2, memoryBytes: 4e9 }], ready: true } }, null, policy);
    assert.equal(decision.kind, 'imported');
    assert.deepEqual(decision.data.warnings?.map((warning) => warning.code), ['onboard-unvalidated']);
  });
});

describe('a check through the tunnel: how it ends', () => {
  const failed = (code: string) => ({ ok: false as const, failures: [{ code, message: `${code} happened` }] });

  it('answered with the tunnel up: recorded like any check', () => {
    assert.deepEqual(decideTunnelCheckEnd({ ok: true }, link('connected', 1)), { kind: 'record' });
    assert.deepEqual(decideTunnelCheckEnd(failed('forbidden'), link('connected', 1)), { kind: 'record' }, 'the cluster refused: rejected');
  });

  it('answered, but the tunnel went down since: imported, then unreachable at once', () => {
    assert.deepEqual(decideTunnelCheckEnd({ ok: true }, link('disconnected', 2, 'heartbeat-timeout')), { kind: 'record-then-down' });
  });

  it('failed with the tunnel down: not the cluster\'s fault, it waits for its tunnel', () => {
    const end = decideTunnelCheckEnd(failed('api-server-error'), link('disconnected', 2, 'agent-closed'));
    assert.equal(end.kind, 'wait');
    assert.deepEqual(end.kind === 'wait' && end.reasons.map((reason) => reason.code), ['tunnel-down']);
    assert.match(end.kind === 'wait' ? (end.reasons[0]?.message ?? '') : '', /agent-closed/);
  });

  it('failed because the broker did not carry it (tunnel-down, tunnel-unavailable) while the tunnel seemed up: waits, saying why', () => {
    for (const code of ['tunnel-down', 'tunnel-unavailable']) {
      const end = decideTunnelCheckEnd(failed(code), link('connected', 1));
      assert.equal(end.kind, 'wait', code);
      assert.deepEqual(end.kind === 'wait' && end.reasons.map((reason) => reason.code), [code]);
    }
  });
});

describe('a change of its tunnel, for a cluster reached through it', () => {
  const managed = replay([request(), imported(1)])!;

  it('down: an imported cluster is unreachable at once (tunnel-down, since the broker says it went down)', () => {
    const effect = decideTunnelChange(managed, link('disconnected', 5, 'heartbeat-timeout'));
    assert.equal(effect.kind, 'unreachable');
    assert.ok(effect.kind === 'unreachable');
    assert.equal(effect.data.reason.code, 'tunnel-down');
    assert.match(effect.data.reason.message, /heartbeat-timeout/);
    assert.equal(effect.data.since, at(5).toISOString());
  });

  it('down again, or before it was imported: nothing (one outage, one ClusterUnreachable; a waiting cluster keeps waiting)', () => {
    const unreachable = evolve(managed, createEvent(ClusterUnreachable, meta(5), { reason: { code: 'tunnel-down', message: 'down' }, since: at(5).toISOString() }))!;
    assert.deepEqual(decideTunnelChange(unreachable, link('disconnected', 6)), { kind: 'none' });
    assert.deepEqual(decideTunnelChange(replay([request()]), link('disconnected', 6)), { kind: 'none' });
  });

  it('up: a managed cluster is re-checked now (Reachable when it answers); a waiting one is simply claimed by the worker', () => {
    const unreachable = evolve(managed, createEvent(ClusterUnreachable, meta(5), { reason: { code: 'tunnel-down', message: 'down' }, since: at(5).toISOString() }))!;
    assert.deepEqual(decideTunnelChange(unreachable, link('connected', 7)), { kind: 'recheck' });
    assert.deepEqual(decideTunnelChange(managed, link('connected', 7)), { kind: 'recheck' });
    assert.deepEqual(decideTunnelChange(replay([request()]), link('connected', 7)), { kind: 'none' });
  });

  it('a cluster reached at its own address, deleted, or unknown: its tunnel changes nothing', () => {
    const direct = replay([createEvent(ClusterImportRequested, meta(0), { name: 'edge 7', apiServer: 'https://edge.example:6443', credentialRef: 'edge-admin', provider: 'cncf' }), imported(1)]);
    assert.deepEqual(decideTunnelChange(direct, link('disconnected', 5)), { kind: 'none' });
    assert.deepEqual(decideTunnelChange({ ...managed, deletedAt: at(4).toISOString() }, link('disconnected', 5)), { kind: 'none' });
    assert.deepEqual(decideTunnelChange(undefined, link('disconnected', 5)), { kind: 'none' });
  });
});
