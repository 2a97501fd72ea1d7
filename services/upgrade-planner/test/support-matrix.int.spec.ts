import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { defaultSupportMatrix, SUPPORT_MATRIX_DOCUMENT, UpgradePlanned, type SupportMatrixDocument } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import type { Role } from '@flotilla/auth';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { upgradePlannerService } from '../src/service.js';
import { call, EventLog, facts, fleetShows, json, publishAll } from './support.js';

interface MatrixBody {
  revision: string;
  source: string;
  sequence: number;
  bucket: string;
  lastRejected: { sequence: number; claimedRevision: string | null; problems: { field: string; code: string }[] } | null;
  document: SupportMatrixDocument;
}

const CLI = fileURLToPath(new URL('../src/cli/publish-matrix.js', import.meta.url));

/** The shipped document with 4.3 creating clusters on 1.35 (what a later support statement might say). */
function withKubernetes135(revision: string): SupportMatrixDocument {
  const document = structuredClone(SUPPORT_MATRIX_DOCUMENT);
  const release = document.releases[0]!;
  release.creation = ['1.35'];
  release.compatible = ['1.35', '1.34', '1.33', '1.32', '1.31'];
  release.thirdParty = { range: '>=1.19.0 <1.36.0', validated: [] };
  return { ...document, revision };
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('upgrade planner: support-matrix revisions at run time', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let planned: EventLog<typeof UpgradePlanned>;
  let planId: string;
  let dir: string;

  before(async () => {
    service = await startTestService(upgradePlannerService, { PLAN_DEBOUNCE_MS: '100', PLAN_MAX_DELAY_MS: '500', PLAN_POLL_MS: '1000' });
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'upgrade-planner-matrix-test');
    planned = await EventLog.open(bus, prefix, UpgradePlanned);
    dir = await mkdtemp(join(tmpdir(), 'upgrade-planner-matrix-'));
    await publishAll(bus, prefix, [
      facts.nodes('hcp-1', 'hosted-control-plane', [{ name: 'hcp-1-w-0', role: 'worker', pool: 'workers', kubeletVersion: 'v1.33.1' }]),
      facts.ready('hcp-1', 'hosted-control-plane', 'v1.33.1'),
      facts.imported('cncf-1', 'vanilla', 'v1.34.1'),
    ]);
    await fleetShows(service, { 'cncf-1': 'v1.34.1', 'hcp-1': 'v1.33.1' });
  });

  after(async () => {
    await planned?.close();
    await service?.dispose();
    if (bus) {
      await deleteTestStreams(bus.jsm, prefix);
      await bus.jsm.streams.delete(`KV_${prefix}_support_matrix`).catch(() => false);
      await bus.drain();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const api = (path: string, init?: RequestInit, role?: Role) => call(service, path, init, role);
  const matrix = async (): Promise<MatrixBody> => (await (await api('/api/v1/support-matrix')).json()) as MatrixBody;
  const put = (document: unknown) => api('/api/v1/support-matrix', json(document, 'PUT'), 'admin');

  it('starts with the shipped matrix, and a plan records its revision', async () => {
    const current = await matrix();
    assert.equal(current.revision, defaultSupportMatrix.revision);
    assert.equal(current.source, 'shipped');
    assert.equal(current.bucket, `${prefix}_support_matrix`);
    assert.deepEqual(current.document, SUPPORT_MATRIX_DOCUMENT);

    const response = await api('/api/v1/upgrade-plans', json({ fromRelease: '4.2', toRelease: '4.3', maxConcurrency: 10 }), 'operator');
    const body = (await response.json()) as { id: string; policyRevision: string; clusters: { clusterId: string; target: string }[] };
    planId = body.id;
    assert.equal(body.policyRevision, defaultSupportMatrix.revision);
    assert.equal(body.clusters.find((c) => c.clusterId === 'hcp-1')?.target, '1.34');
  });

  it('PUT refuses a bad document with 400 naming every problem, and the revision in force stays', async () => {
    const bad = structuredClone(SUPPORT_MATRIX_DOCUMENT) as unknown as Record<string, unknown> & { releases: Record<string, unknown>[] };
    bad['revision'] = 'broken-1';
    bad['kind'] = 'Matrix';
    bad.releases[0]!['creation'] = ['1.36'];
    bad.releases[2]!['thirdParty'] = { range: '>=1.35.0 <1.19.0', validated: [] };
    const response = await put(bad);
    assert.equal(response.status, 400);
    const body = (await response.json()) as { errors: { field: string; code: string }[]; message: string[]; inForce: string };
    // parseSupportMatrix leaves an invalid release (4.1) out of its cross-release checks, so 4.2's
    // path from it is reported as unknown too.
    assert.deepEqual(body.errors.map((e) => `${e.field} ${e.code}`).sort(), [
      'kind schema-invalid',
      'releases.0.creation.0 creation-not-compatible',
      'releases.1.upgradeFrom.0 upgrade-from-unknown',
      'releases.2.thirdParty.range range-empty',
    ]);
    assert.equal(body.message.length, 4);
    assert.equal(body.inForce, defaultSupportMatrix.revision);

    const sameName = structuredClone(SUPPORT_MATRIX_DOCUMENT);
    sameName.releases[0]!.notes = ['changed without a new revision'];
    const refused = await put(sameName);
    assert.equal(refused.status, 400);
    assert.deepEqual(((await refused.json()) as { errors: { code: string }[] }).errors.map((e) => e.code), ['revision-unchanged']);

    assert.equal((await matrix()).revision, defaultSupportMatrix.revision);
  });

  it('PUT of a good revision takes effect without a restart and recomputes the open plan; UpgradePlanned lists the changes', async () => {
    const response = await put(withKubernetes135('test-135'));
    assert.equal(response.status, 200);
    const body = (await response.json()) as MatrixBody & { unchanged: boolean };
    assert.equal(body.revision, 'test-135');
    assert.equal(body.source, 'bucket');
    assert.equal(body.unchanged, false);
    assert.ok(body.sequence >= 1);

    const event = await planned.waitFor(planId, (e) => e.data.policyRevision === 'test-135');
    assert.deepEqual(event.data.changes, [
      `support matrix revision changed from ${defaultSupportMatrix.revision} to test-135`,
      'accepted Kubernetes versions changed from 1.31, 1.32, 1.33, 1.34 to 1.31, 1.32, 1.33, 1.34, 1.35',
      'cluster cncf-1: reason now: Kubernetes 1.34 is accepted by 4.3; later upgrades are the provider\'s to make',
      'cluster hcp-1: target 1.34 -> 1.35; path now 1.33 -> 1.34 -> 1.35 (was 1.33 -> 1.34); reason now: Kubernetes 1.33 is accepted by 4.3; the cluster may upgrade to 1.35 once the global cluster is on 4.3',
    ]);
    const stored = (await (await api(`/api/v1/upgrade-plans/${planId}`)).json()) as { revision: number; trigger: string; policyRevision: string; matrixSequence: number };
    assert.equal(stored.revision, 2);
    assert.equal(event.data.revision, 2, 'the event names the revision it announces');
    assert.equal(event.data.clusters.find((c) => c.clusterId === 'hcp-1')?.target, '1.35');
    assert.equal(stored.trigger, 'matrix-changed');
    assert.equal(stored.policyRevision, 'test-135');
    assert.equal(stored.matrixSequence, body.sequence);

    const again = await put(withKubernetes135('test-135'));
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { unchanged: boolean }).unchanged, true);
  });

  it('a bad document arriving through the bucket is refused and recorded; the last good revision stays', async () => {
    const ack = await bus.js.publish(`$KV.${prefix}_support_matrix.matrix`, JSON.stringify({ apiVersion: 'flotilla.io/v1', kind: 'SupportMatrix', revision: 'from-bucket', releases: [] }));
    const current = await eventually(async () => {
      const body = await matrix();
      return body.lastRejected?.sequence === ack.seq ? body : undefined;
    });
    assert.equal(current.revision, 'test-135');
    assert.equal(current.lastRejected?.claimedRevision, 'from-bucket');
    assert.deepEqual(current.lastRejected?.problems.map((p) => p.field), ['releases']);
  });

  it('the CLI validates (exit 1 naming every problem) and publishes; the service takes the revision from the bucket', async () => {
    const env = { BUS_PREFIX: prefix, NATS_URL: TEST_NATS_URL };
    const badFile = join(dir, 'bad.json');
    const bad = withKubernetes135('cli-bad');
    bad.releases[1]!.compatible = ['1.33', '1.31', '1.30'];
    bad.releases[0]!.upgradeFrom = ['4.2', '4.1', '4.0', '3.9'];
    await writeFile(badFile, JSON.stringify(bad));
    const refused = await runCli([badFile], env);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /releases\.1\.compatible\.1: .*\(minors-gapped\)/);
    assert.match(refused.stderr, /releases\.0\.upgradeFrom\.3: .*3\.9.*\(upgrade-from-unknown\)/);

    const goodFile = join(dir, 'good.json');
    await writeFile(goodFile, JSON.stringify(withKubernetes135('cli-1')));
    const checked = await runCli([goodFile, '--check'], env);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /valid support matrix, revision "cli-1"/);
    assert.equal((await matrix()).revision, 'test-135', '--check publishes nothing');

    const published = await runCli([goodFile], env);
    assert.equal(published.code, 0, published.stderr);
    assert.match(published.stdout, /published support matrix revision "cli-1" to bucket .* \(sequence \d+; was "test-135"\)/);
    await eventually(async () => ((await matrix()).revision === 'cli-1' ? true : undefined));
    await planned.waitFor(planId, (e) => e.data.policyRevision === 'cli-1' && e.data.changes[0] === 'support matrix revision changed from test-135 to cli-1');

    assert.equal((await runCli([], env)).code, 2, 'usage');
  });

  it('a replica started now replays the bucket and holds the same revision', async () => {
    const replica = await startTestService(upgradePlannerService, { BUS_PREFIX: prefix, DATABASE_SCHEMA: service.env['DATABASE_SCHEMA']! });
    try {
      const body = (await (await call(replica, '/api/v1/support-matrix')).json()) as MatrixBody;
      assert.equal(body.revision, 'cli-1');
      assert.equal(body.source, 'bucket');
      assert.deepEqual(body.document, (await matrix()).document);
    } finally {
      await replica.dispose({ keepSchema: true });
    }
  });
});
