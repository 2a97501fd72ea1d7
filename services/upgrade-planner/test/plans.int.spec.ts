import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, defaultSupportMatrix, eventsSubject, UpgradePlanned, UpgradePlanRequested } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import type { Role } from '@flotilla/auth';
import { documentationGaps } from '@flotilla/service-kit';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import type { OpenAPIObject } from '@nestjs/swagger';
import { upgradePlannerService } from '../src/service.js';
import { call, EventLog, facts, fleetShows, json, MIXED_FLEET_VERSIONS, mixedFleetFacts, publishAll } from './support.js';

interface PlanBody {
  id: string;
  status: string;
  revision: number;
  currentRevision: number;
  trigger: string;
  requestedVia: string;
  satisfiable: boolean;
  policyRevision: string;
  issues: { code: string; reason: string }[];
  clusters: { clusterId: string; action: string; path: string[]; target: string | null; wave: number | null; nodePoolMoves: { pool: string; to: string }[] }[];
  steps: { type: string }[];
  changes: string[];
}

describe('upgrade planner: plans for a mixed fleet, on real NATS and PostgreSQL', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let planned: EventLog<typeof UpgradePlanned>;

  before(async () => {
    // Short quiet periods so recomputes happen within a test's patience; few whole revisions kept.
    service = await startTestService(upgradePlannerService, { PLAN_DEBOUNCE_MS: '100', PLAN_MAX_DELAY_MS: '500', PLAN_POLL_MS: '1000', PLAN_REVISIONS_KEPT: '2' });
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'upgrade-planner-int-test');
    planned = await EventLog.open(bus, prefix, UpgradePlanned);
    await publishAll(bus, prefix, mixedFleetFacts());
    await fleetShows(service, MIXED_FLEET_VERSIONS);
  });

  after(async () => {
    await planned?.close();
    await service?.dispose();
    if (bus) {
      await deleteTestStreams(bus.jsm, prefix);
      await bus.jsm.streams.delete(`KV_${prefix}_support_matrix`).catch(() => false);
      await bus.drain();
    }
  });

  const api = (path: string, init?: RequestInit, role?: Role) => call(service, path, init, role);
  const plan = async (id: string, query = ''): Promise<PlanBody> => (await (await api(`/api/v1/upgrade-plans/${id}${query}`)).json()) as PlanBody;
  const requestPlan = (id: string, data: { fromRelease: string; toRelease: string; maxConcurrency: number }) =>
    publishEvent(bus.js, eventsSubject({ prefix }, UpgradePlanRequested.channel), createEvent(UpgradePlanRequested, { subject: id, source: '/tests/operator' }, data));

  it('a plan requested over the bus yields UpgradePlanned for the mixed fleet (platform, user, hosted, EKS and CNCF connected)', async () => {
    await requestPlan('plan-bus', { fromRelease: '4.2', toRelease: '4.3', maxConcurrency: 2 });
    const event = await planned.waitFor('plan-bus');
    assert.equal(event.source, '/flotilla/upgrade-planner');
    assert.equal(event.data.fromRelease, '4.2');
    assert.equal(event.data.toRelease, '4.3');
    assert.equal(event.data.policyRevision, defaultSupportMatrix.revision);
    assert.equal(event.data.satisfiable, true);
    assert.equal(event.data.revision, 1);
    assert.equal(event.data.clusterCount, 5);
    assert.deepEqual(event.data.issues, []);
    assert.deepEqual(event.data.changes, []);
    const byId = Object.fromEntries(event.data.clusters.map((c) => [c.clusterId, c]));
    assert.deepEqual(Object.keys(byId), ['cncf-1', 'eks-1', 'hcp-1', 'pp-1', 'up-1'], 'every live cluster, the deleted one left out');
    assert.deepEqual(
      Object.fromEntries(Object.entries(byId).map(([id, c]) => [id, [c.model, c.currentVersion, c.action, c.path.join(' -> ')]])),
      {
        'cncf-1': ['connected', 'v1.34.1', 'none', ''],
        'eks-1': ['connected', 'v1.30.9-eks-113cf36', 'provider-action-required', '1.30 -> 1.31'],
        'hcp-1': ['hosted-control-plane', 'v1.33.1', 'may-upgrade-after', '1.33 -> 1.34'],
        'pp-1': ['platform-provisioned', 'v1.30.4', 'upgrade-before-global', '1.30 -> 1.31 -> 1.32 -> 1.33 -> 1.34'],
        'up-1': ['user-provisioned', 'v1.31.2', 'may-upgrade-after', '1.31 -> 1.32 -> 1.33 -> 1.34'],
      },
    );
    assert.deepEqual(
      Object.fromEntries(Object.entries(byId).map(([id, c]) => [id, [c.target, c.code]])),
      {
        'cncf-1': ['1.34', 'on-target'],
        'eks-1': ['1.31', 'outside-compatible-range'],
        'hcp-1': ['1.34', 'optional-upgrade-after'],
        'pp-1': ['1.34', 'outside-compatible-range'],
        'up-1': ['1.34', 'optional-upgrade-after'],
      },
    );
    // pp-1's workers on 1.27 would be four minors behind an API server on 1.31: they move first.
    assert.deepEqual(
      byId['pp-1']!.nodePoolMoves.map((m) => [m.pool, m.fromVersion, m.to, m.beforeControlPlane]),
      [
        ['workers', 'v1.27.3', '1.30', '1.31'],
        // On to 1.34 after the global upgrade: every pool left on 1.30 would be four minors behind.
        ['control-plane', 'v1.30.4', '1.33', '1.34'],
        ['workers', 'v1.27.3', '1.33', '1.34'],
      ],
    );
    assert.match(byId['pp-1']!.nodePoolMoves[0]!.reason, /kubelet 1\.27 would be 4 minors behind API server 1\.31/);
    assert.doesNotMatch(byId['pp-1']!.reason, /move node pools first/, 'the moves have their own field now');
    // (up-1 is left out: its nodes' versions depend on whether ClusterUpgraded or NodesProvisioned reached the view first.)
    assert.deepEqual(['cncf-1', 'eks-1', 'hcp-1'].map((id) => byId[id]!.nodePoolMoves), [[], [], []]);
    assert.equal(byId['pp-1']!.wave, 1);
    assert.deepEqual(event.data.steps?.slice(0, 2), [
      { type: 'workload-wave', phase: 'pre-global', wave: 1, globalRelease: '4.2', clusterIds: ['pp-1'] },
      { type: 'global-upgrade', fromRelease: '4.2', toRelease: '4.3', awaitingProvider: ['eks-1'] },
    ]);
    assert.deepEqual(event.data.route, ['4.2', '4.3']);
    assert.deepEqual(
      byId['pp-1']!.steps?.map((s) => `${s.from}->${s.to} on ${s.release} before ${s.beforeGlobal ?? 'none'}`),
      ['1.30->1.31 on 4.2 before 4.3', '1.31->1.32 on 4.3 before none', '1.32->1.33 on 4.3 before none', '1.33->1.34 on 4.3 before none'],
    );
    // After the global upgrade pp-1 goes on to 1.34 with the clusters that may.
    const after = event.data.steps.slice(2).flatMap((s) => (s.type === 'workload-wave' && s.phase === 'post-global' ? s.clusterIds : ['not a post-global wave']));
    assert.deepEqual(after.sort(), ['hcp-1', 'pp-1', 'up-1']);
    assert.deepEqual(planned.invalid, [], 'every UpgradePlanned validates against the contract');

    const stored = await plan('plan-bus');
    assert.equal(stored.revision, 1);
    assert.equal(stored.requestedVia, 'event');
    assert.equal(stored.status, 'open');
    assert.deepEqual(stored.steps.slice(0, 3).map((s) => s.type), ['workload-wave', 'global-upgrade', 'workload-wave']);
  });

  it('the same request again answers with the current revision and makes no new one', async () => {
    const before = planned.about('plan-bus').length;
    await requestPlan('plan-bus', { fromRelease: '4.2', toRelease: '4.3', maxConcurrency: 2 });
    const answer = await eventually(() => planned.about('plan-bus')[before]);
    assert.equal(answer.data.revision, 1, 'the answer names the current revision');
    assert.deepEqual(answer.data.changes, []);
    assert.equal((await plan('plan-bus')).currentRevision, 1);
  });

  it('POST plans synchronously (201 with the plan), GET serves it as JSON and as a table', async () => {
    const response = await api('/api/v1/upgrade-plans', json({ fromRelease: '4.2', toRelease: '4.3', maxConcurrency: 5 }), 'operator');
    assert.equal(response.status, 201);
    const created = (await response.json()) as PlanBody;
    assert.match(created.id, /^plan-[0-9a-f]{10}$/);
    assert.equal(created.revision, 1);
    assert.equal(created.requestedVia, 'http');
    assert.equal(created.satisfiable, true);
    assert.equal(created.clusters.find((c) => c.clusterId === 'pp-1')?.nodePoolMoves[0]?.to, '1.30');
    assert.deepEqual(await plan(created.id), created);
    await planned.waitFor(created.id);

    const table = await api(`/api/v1/upgrade-plans/${created.id}/table`);
    assert.equal(table.status, 200);
    assert.match(table.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await table.text();
    const lines = text.split('\n');
    assert.equal(lines[0], `Plan ${created.id}, revision 1 of 1 (open)`);
    assert.ok(lines.includes('Global cluster upgrade 4.2 -> 4.3'));
    assert.ok(lines.includes(`Support matrix revision: ${defaultSupportMatrix.revision}`));
    assert.match(text, /^CLUSTER\s+MODEL\s+CURRENT\s+TARGET\s+PATH\s+ACTION\s+REASON$/m);
    assert.match(text, /^pp-1\s+platform-provisioned\s+v1\.30\.4\s+1\.34\s+1\.30 -> 1\.31 -> 1\.32 -> 1\.33 -> 1\.34\s+upgrade-before-global \(wave 1\)\s+.*move node pools first: workers to 1\.30 before 1\.31/m);
    assert.match(text, /^Already breaking the policy \(repair first\):\n {2}- cncf-1: Kubernetes 1\.34\.1 is outside 4\.2's third-party range.*repair: upgrade the global cluster to 4\.3/m);
    assert.match(text, /^eks-1\s+connected\s+v1\.30\.9-eks-113cf36\s+1\.31\s+1\.30 -> 1\.31\s+provider-action-required\s+/m);
    assert.match(text, /^ {2}global cluster 4\.2 -> 4\.3 once providers have upgraded: eks-1$/m);
  });

  it('POST refuses a bad request naming every field; unknown plans and revisions are 404', async () => {
    const response = await api('/api/v1/upgrade-plans', json({ fromRelease: 'four', toRelease: '4.3', maxConcurrency: 0 }), 'operator');
    assert.equal(response.status, 400);
    const body = (await response.json()) as { errors: { field: string }[] };
    assert.deepEqual(body.errors.map((e) => e.field).sort(), ['fromRelease', 'maxConcurrency']);
    assert.equal((await api('/api/v1/upgrade-plans/nope')).status, 404);
    assert.equal((await api('/api/v1/upgrade-plans/nope/table')).status, 404);
    assert.equal((await api('/api/v1/upgrade-plans/plan-bus?revision=99')).status, 404);
  });

  it('a plan that cannot be satisfied says why', async () => {
    // 4.0 -> 4.2 goes through 4.1; clusters already past what 4.1 accepts cannot follow.
    const response = await api('/api/v1/upgrade-plans', json({ fromRelease: '4.0', toRelease: '4.2', maxConcurrency: 5 }), 'operator');
    assert.equal(response.status, 201);
    const body = (await response.json()) as PlanBody & { route: string[] };
    assert.deepEqual(body.route, ['4.0', '4.1', '4.2']);
    assert.equal(body.satisfiable, false);
    const newer = body.issues.find((i) => i.code === 'newer-than-target') as { clusterIds: string[] } | undefined;
    assert.ok(newer?.clusterIds.includes('cncf-1'), JSON.stringify(body.issues));
    assert.equal(body.clusters.find((c) => c.clusterId === 'cncf-1')?.action, 'blocked');
    const event = await planned.waitFor(body.id);
    assert.equal(event.data.satisfiable, false);
    assert.ok(event.data.issues.some((i) => i.code === 'newer-than-target' && i.clusterIds.includes('cncf-1')));
    assert.ok(!(event.data.steps ?? []).some((s) => s.type === 'global-upgrade'), 'no global upgrade is ordered while the plan cannot be carried out');
    const text = await (await api(`/api/v1/upgrade-plans/${body.id}/table`)).text();
    assert.match(text, /^Satisfiable: no$/m);
    assert.match(text, /^ {2}- .*blocked: Newer than the target release supports: .*cncf-1/m);
  });

  it('a fleet change recomputes open plans: a new revision, and UpgradePlanned listing the changes', async () => {
    await publishAll(bus, prefix, [facts.versionChanged('eks-1', 'v1.30.9-eks-113cf36', 'v1.31.4-eks-0a1b2c3')]);
    const event = await planned.waitFor('plan-bus', (e) => e.data.changes.length > 0);
    assert.deepEqual(event.data.changes, [
      "cluster eks-1: version v1.30.9-eks-113cf36 -> v1.31.4-eks-0a1b2c3; action provider-action-required -> none; path now - (was 1.30 -> 1.31); reason now: Kubernetes 1.31 is accepted by 4.3; later upgrades are the provider's to make",
    ]);
    assert.equal(event.data.clusters.find((c) => c.clusterId === 'eks-1')?.action, 'none');
    assert.equal(event.data.revision, 2, 'a recompute announces the next revision');
    const stored = await plan('plan-bus');
    assert.equal(stored.revision, 2);
    assert.equal(stored.trigger, 'fleet-changed');
    assert.deepEqual(stored.changes, event.data.changes);
    const history = (await (await api('/api/v1/upgrade-plans/plan-bus/revisions')).json()) as { revisions: { revision: number; trigger: string }[] };
    assert.deepEqual(history.revisions.map((r) => [r.revision, r.trigger]), [[1, 'requested'], [2, 'fleet-changed']]);
  });

  it('hundreds of facts in a burst give a handful of revisions, not one per event; a closed plan is left alone', async () => {
    const closed = (await (await api('/api/v1/upgrade-plans', json({ fromRelease: '4.2', toRelease: '4.3', maxConcurrency: 5 }), 'operator')).json()) as PlanBody;
    const close = await api(`/api/v1/upgrade-plans/${closed.id}/close`, { method: 'POST' }, 'operator');
    assert.equal(close.status, 200);
    assert.equal(((await close.json()) as { status: string }).status, 'closed');

    const before = (await plan('plan-bus')).currentRevision;
    const burst = [];
    for (let i = 0; i < 200; i++) {
      const id = `burst-${String(i).padStart(3, '0')}`;
      burst.push(facts.nodes(id, 'platform-provisioned', [{ name: `${id}-cp-0`, role: 'control-plane', kubeletVersion: 'v1.33.2' }]));
      burst.push(facts.ready(id, 'platform-provisioned', 'v1.33.2'));
    }
    await publishAll(bus, prefix, burst);
    const settled = await eventually(
      async () => {
        const current = await plan('plan-bus');
        return current.clusters.length === 205 ? current : undefined;
      },
      30_000,
      'plan-bus covering the 200 new clusters',
    );
    const revisions = settled.currentRevision - before;
    assert.ok(revisions >= 1 && revisions <= 15, `${revisions} revisions for 400 facts`);
    await planned.waitFor('plan-bus', (e) => e.data.revision === settled.currentRevision);
    const announced = new Set(planned.about('plan-bus').map((e) => e.data.revision));
    assert.deepEqual([...announced].sort((x, y) => x! - y!), Array.from({ length: settled.currentRevision }, (_, i) => i + 1), 'each revision announced, numbered one after another');
    const history = (await (await api('/api/v1/upgrade-plans/plan-bus/revisions')).json()) as { revisions: { revision: number; trigger: string; changes: string[] }[] };
    const added = history.revisions.filter((r) => r.revision > before).flatMap((r) => r.changes.filter((line) => /^cluster burst-\d{3} added: may-upgrade-after 1\.33 -> 1\.34$/.test(line)));
    assert.equal(new Set(added).size, 200, 'each new cluster announced as added exactly once across the revisions');
    assert.equal(added.length, 200);
    assert.ok(history.revisions.filter((r) => r.revision > before).every((r) => r.trigger === 'fleet-changed'));
    assert.equal((await plan(closed.id)).currentRevision, 1, 'a closed plan is not recomputed');
  });

  it('only the newest PLAN_REVISIONS_KEPT revisions keep the whole plan; older ones keep summary and changes', async () => {
    const current = await plan('plan-bus');
    assert.ok(current.currentRevision >= 3);
    const pruned = await api('/api/v1/upgrade-plans/plan-bus?revision=1');
    assert.equal(pruned.status, 410);
    assert.equal(((await pruned.json()) as { code: string }).code, 'revision-pruned');
    assert.equal((await api(`/api/v1/upgrade-plans/plan-bus?revision=${current.currentRevision - 1}`)).status, 200);
    const history = (await (await api('/api/v1/upgrade-plans/plan-bus/revisions')).json()) as { revisions: { revision: number; changes: string[] }[] };
    assert.equal(history.revisions.length, current.currentRevision, 'every revision is still listed');
    assert.equal(history.revisions[1]?.changes.length, 1);
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    assert.equal((await api('/readyz')).status, 200);
    const openapi = (await (await api('/api/docs/openapi.json')).json()) as OpenAPIObject;
    for (const path of ['/api/v1/upgrade-plans', '/api/v1/upgrade-plans/{id}', '/api/v1/upgrade-plans/{id}/table', '/api/v1/support-matrix', '/api/v1/fleet']) {
      assert.ok(openapi.paths[path], path);
    }
    // The document the service serves is the complete one: answers, errors, examples and access.
    assert.equal(openapi.openapi, '3.1.0');
    assert.deepEqual(documentationGaps(openapi), []);
    assert.deepEqual((openapi.paths['/api/v1/upgrade-plans']?.post as { security?: unknown } | undefined)?.security, [{ bearerAuth: [] }, { oidc: [] }]);
  });
});
