/*
 * One policy in force everywhere: the upgrade planner, the inventory, the provisioner and the
 * importer on one bus prefix (in this process, each its own schema). A revision or a platform
 * release PUT to the planner changes every service's answers within seconds, and each decision
 * records the revision it was made under.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterProvisioningFailed, ClusterReady, ClusterRequested, createEvent, eventsSubject, SUPPORT_MATRIX_DOCUMENT, type ClusterSpec, type FactProvenance, type SupportMatrixDocument } from '@flotilla/contracts';
import { importerService } from '@flotilla/importer/dist/src/service.js';
import { ONBOARDING_POLICY, type OnboardingPolicySource } from '@flotilla/importer/dist/src/workers/import-worker.js';
import { inventoryService } from '@flotilla/inventory/dist/src/service.js';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, testBusPrefix, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { provisionerService } from '@flotilla/provisioner/dist/src/service.js';
import { PolicyInForce } from '@flotilla/service-kit';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { upgradePlannerService } from '@flotilla/upgrade-planner/dist/src/service.js';

/** Every service follows a new revision within this. */
const PROPAGATION_MS = 5_000;

const spec = (name: string, kubernetesVersion: string): ClusterSpec => ({
  name,
  model: 'platform-provisioned',
  kubernetesVersion,
  controlPlane: { count: 1, machineSize: 'small' },
  nodePools: [],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
});

interface PolicyError {
  field: string;
  code: string;
  release: string;
  policyRevision: string;
  provenance?: FactProvenance;
}

describe('the policy in force, across the services', () => {
  const prefix = testBusPrefix();
  let planner: TestService;
  let inventory: TestService;
  let provisioner: TestService;
  let importer: TestService;
  let bus: BusConnection;

  before(async () => {
    // The planner first: it makes the bucket and seeds the release from its PLATFORM_RELEASE.
    planner = await startTestService(upgradePlannerService, { BUS_PREFIX: prefix, PLATFORM_RELEASE: '4.3' });
    inventory = await startTestService(inventoryService, { BUS_PREFIX: prefix });
    provisioner = await startTestService(provisionerService, { BUS_PREFIX: prefix, SIM_BOOT_MS: '50', RECONCILE_IDLE_MS: '20', MACHINE_POLL_MS: '50' });
    importer = await startTestService(importerService, { BUS_PREFIX: prefix });
    bus = await BusConnection.open(TEST_NATS_URL, 'policy-in-force-test');
  });

  after(async () => {
    for (const service of [importer, provisioner, inventory, planner]) await service?.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const send = async (service: TestService, method: string, path: string, body: unknown) =>
    fetch(`${service.url}${path}`, { method, headers: { ...(await service.auth('admin')), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const create = (name: string, version: string) => send(inventory, 'POST', '/api/v1/clusters', { id: name, ...spec(name, version) });
  /** What each service has in force, as `release@revision`. */
  const inForce = () => ({
    inventory: describe_(inventory.app.get(PolicyInForce, { strict: false }).current()),
    provisioner: describe_(provisioner.app.get(PolicyInForce, { strict: false }).current()),
    importer: describe_(importer.app.get<OnboardingPolicySource>(ONBOARDING_POLICY, { strict: false }).current()),
  });
  const everywhere = (expected: string) => ({ inventory: expected, provisioner: expected, importer: expected });
  const waitForEverywhere = async (expected: string) => {
    const started = Date.now();
    await eventually(() => (JSON.stringify(inForce()) === JSON.stringify(everywhere(expected)) ? true : undefined), PROPAGATION_MS, `every service on ${expected}: ${JSON.stringify(inForce())}`);
    return Date.now() - started;
  };

  it('starts on the seeded release and the shipped matrix, and every service says so', async () => {
    await waitForEverywhere(`4.3@${SUPPORT_MATRIX_DOCUMENT.revision}`);
    const view = (await (await fetch(`${planner.url}/api/v1/support-matrix`, { headers: await planner.auth('viewer') })).json()) as {
      source: string;
      platformRelease: { release: string; source: string };
      provenance: Record<string, FactProvenance[]>;
    };
    assert.deepEqual([view.source, view.platformRelease.release, view.platformRelease.source], ['shipped', '4.3', 'bucket']);
    assert.equal(view.provenance['4.2']?.find((p) => p.fact === 'thirdParty.range')?.provenance, 'inferred');
  });

  it('the inventory answers 400 for a creation version the release in force does not create, naming the field, the rule and the revision', async () => {
    const response = await create('too-old', '1.33');
    assert.equal(response.status, 400);
    const body = (await response.json()) as { errors: PolicyError[] };
    assert.deepEqual(
      body.errors.map((e) => [e.field, e.code, e.release, e.policyRevision, e.provenance?.provenance]),
      [['kubernetesVersion', 'creation-unsupported', '4.3', SUPPORT_MATRIX_DOCUMENT.revision, 'documented']],
    );
  });

  it('a new revision PUT to the planner changes the inventory, provisioner and importer answers within seconds; decisions record it', async () => {
    const next: SupportMatrixDocument = structuredClone(SUPPORT_MATRIX_DOCUMENT);
    next.revision = 'int-creates-1.33';
    next.releases[0]!.creation = ['1.34', '1.33'];
    const put = await send(planner, 'PUT', '/api/v1/support-matrix', next);
    assert.equal(put.status, 200, await put.clone().text());
    const took = await waitForEverywhere('4.3@int-creates-1.33');
    assert.ok(took < PROPAGATION_MS, `${took} ms`);

    // The inventory now accepts what it refused, and the provisioner creates it under the new revision.
    const response = await create('now-allowed', '1.33');
    assert.equal(response.status, 202, await response.clone().text());
    const ready = await eventually(async () => (await eventsOf(bus, prefix, ClusterReady, 'now-allowed'))[0], 20_000, 'ClusterReady of now-allowed');
    assert.deepEqual([ready.data.release, ready.data.policyRevision], ['4.3', 'int-creates-1.33']);
  });

  it('a new platform release PUT to the planner changes every answer too: the provisioner refuses on the bus what the inventory refuses over HTTP', async () => {
    const put = await send(planner, 'PUT', '/api/v1/support-matrix/platform-release', { release: '4.2' });
    assert.equal(put.status, 200, await put.clone().text());
    await waitForEverywhere('4.2@int-creates-1.33');

    const refused = await create('newest', '1.34');
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as { errors: PolicyError[] };
    assert.deepEqual(
      body.errors.map((e) => [e.field, e.code, e.release, e.policyRevision]),
      [['kubernetesVersion', 'creation-unsupported', '4.2', 'int-creates-1.33']],
    );

    // Someone else on the bus asks the provisioner directly: the same rule, the same revision.
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterRequested.channel), createEvent(ClusterRequested, { subject: 'bus-newest', source: '/another-platform-service' }, spec('bus-newest', '1.34')));
    const failed = await eventually(async () => (await eventsOf(bus, prefix, ClusterProvisioningFailed, 'bus-newest'))[0], 15_000, 'ClusterProvisioningFailed of bus-newest');
    assert.deepEqual(
      [failed.data.reasons.map((r) => [r.code, r.field]), failed.data.release, failed.data.policyRevision],
      [[['creation-unsupported', 'kubernetesVersion']], '4.2', 'int-creates-1.33'],
    );
  });

  it('the planner refuses a release the matrix in force does not know, naming the field; nothing changes', async () => {
    const put = await send(planner, 'PUT', '/api/v1/support-matrix/platform-release', { release: '9.9' });
    assert.equal(put.status, 400);
    const body = (await put.json()) as { errors: { field: string; code: string }[] };
    assert.deepEqual(
      body.errors.map((e) => [e.field, e.code]),
      [['release', 'release-unknown']],
    );
    assert.deepEqual(inForce(), everywhere('4.2@int-creates-1.33'));
  });
});

function describe_(policy: { release: string; matrix: { revision: string } }): string {
  return `${policy.release}@${policy.matrix.revision}`;
}
