import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClusterSpec } from '@flotilla/contracts';
import { AuditTrail } from '@flotilla/auth';
import { MESSAGING_MIGRATIONS, UnitOfWork } from '@flotilla/messaging';
import { KeyRing, SECRETS_KEYRING, SecretStore, secretsEntities, secretsMigrations } from '@flotilla/secrets';
import { Clock } from '@flotilla/service-kit';
import { createTestSchema, type TestSchema } from '@flotilla/messaging/testing';
import { Global, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { selfSignedServer } from './support/tls.js';
import { CONTROL_PLANE_ENDPOINTS, CONTROL_PLANE_PLACEMENT, hostedControllers, hostedEntities, hostedMigrations, hostedProviders, type ControlPlaneEndpoints, type ControlPlanePlacement } from '../src/hosted/index.js';

const Mi = 1024 ** 2;
const Gi = 1024 ** 3;

const hostedSpec: ClusterSpec = {
  name: 'tenant',
  model: 'hosted-control-plane',
  kubernetesVersion: '1.33.4',
  controlPlane: { count: 3, machineSize: 'hosted' },
  nodePools: [{ name: 'workers', count: 4, machineSize: 'm', labels: {}, taints: [] }],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  hosted: { workerModel: 'platform-provisioned' },
};

const shown = {
  name: 'mgmt-eu-1',
  apiEndpoint: 'https://mgmt-eu-1.example.com:6443',
  ingressDomain: 'hcp.eu-1.example.com',
  capacity: { cpuMillicores: 8000, memoryBytes: 32 * Gi, maxControlPlanes: 10 },
  labels: { region: 'eu-1' },
};
/** What is registered: what is shown, and credentials that never are. */
const registration = { ...shown, credentials: { certificateAuthority: selfSignedServer('mgmt-eu-1-ca').cert, token: 'mgmt-eu-1-service-account-token' } };

interface Response {
  status: number;
  body: Record<string, unknown>;
}

/**
 * The hosted-control-plane controllers and providers exactly as index.ts hands them to the
 * provisioner module, over real HTTP, on a schema of their own.
 */
describe('hosted control planes over HTTP', () => {
  let schema: TestSchema;
  let dataSource: DataSource;
  let app: INestApplication;
  let url: string;

  before(async () => {
    schema = await createTestSchema([...MESSAGING_MIGRATIONS, ...hostedMigrations, ...secretsMigrations], 'hcp');
    dataSource = await new DataSource(schema.dataSourceOptions({ entities: [...hostedEntities, ...secretsEntities] })).initialize();
    const unitOfWork = new UnitOfWork(dataSource, { service: 'provisioner', prefix: 'hcp-test' });

    // What the provisioner module gives the hosted providers: the database, the secret store, the clock, the audit trail (no use of credentials happens here).
    @Global()
    @Module({
      providers: [
        { provide: DataSource, useValue: dataSource },
        { provide: UnitOfWork, useValue: unitOfWork },
        { provide: SECRETS_KEYRING, useValue: KeyRing.parse(KeyRing.generateConfigValue(['k1'])) },
        SecretStore,
        Clock,
        { provide: AuditTrail, useValue: { recordUse: () => Promise.resolve() } },
      ],
      exports: [DataSource, UnitOfWork, SecretStore, Clock, AuditTrail],
    })
    class DatabaseModule {}

    @Module({ imports: [DatabaseModule], controllers: hostedControllers, providers: hostedProviders })
    class HostedModule {}

    app = await NestFactory.create(HostedModule, { logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
    url = url.replace('[::1]', '127.0.0.1');
  });

  after(async () => {
    await app.close();
    await dataSource.destroy();
    await schema.drop();
  });

  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  function fields(response: Response): string[] {
    return (response.body['errors'] as { field: string }[]).map((problem) => problem.field);
  }

  it('registers a management cluster; the same name again is a conflict', async () => {
    const created = await call('POST', '/api/v1/management-clusters', registration);
    assert.equal(created.status, 201);
    assert.deepEqual(
      { ...created.body, createdAt: undefined, updatedAt: undefined },
      {
        ...shown,
        dataStore: 'default',
        state: 'active',
        capacity: registration.capacity,
        used: { cpuMillicores: 0, memoryBytes: 0, controlPlanes: 0 },
        free: { cpuMillicores: 8000, memoryBytes: 32 * Gi, controlPlanes: 10 },
        utilisation: { cpu: 0, memory: 0, controlPlanes: 0 },
        controlPlanes: [],
        createdAt: undefined,
        updatedAt: undefined,
      },
    );
    const again = await call('POST', '/api/v1/management-clusters', { ...registration, capacity: { cpuMillicores: 1, memoryBytes: 1, maxControlPlanes: 1 } });
    assert.equal(again.status, 409);
    assert.equal(again.body['code'], 'already-registered');
    assert.match(String(again.body['message']), /"mgmt-eu-1" is registered already/);
  });

  it('bad registrations get 400 naming every bad field', async () => {
    const bad = await call('POST', '/api/v1/management-clusters', {
      ...registration,
      name: 'Not A Label',
      apiEndpoint: 'http://plain.example.com',
      capacity: { cpuMillicores: -1, memoryBytes: 1024, maxControlPlanes: 2.5 },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(fields(bad).sort(), ['apiEndpoint', 'capacity.cpuMillicores', 'capacity.maxControlPlanes', 'name']);
    const empty = await call('POST', '/api/v1/management-clusters', {});
    assert.equal(empty.status, 400);
    assert.deepEqual(fields(empty).sort(), ['apiEndpoint', 'capacity', 'credentials', 'ingressDomain', 'name']);
    const notJson = await call('POST', '/api/v1/management-clusters', '{"name":');
    assert.equal(notJson.status, 400);
  });

  it("a reservation shows on its management cluster; the placement and its TenantControlPlane are served by cluster id", async () => {
    const placement = app.get<ControlPlanePlacement>(CONTROL_PLANE_PLACEMENT);
    const result = await placement.reserve('shop-1a2b3c', hostedSpec);
    assert.ok(result.ok);
    assert.equal(await app.get<ControlPlaneEndpoints>(CONTROL_PLANE_ENDPOINTS).joinEndpoint('shop-1a2b3c'), undefined, 'no endpoint before its TenantControlPlane is Ready');

    const reserved = { cpuMillicores: 450 * 3, memoryBytes: 960 * Mi * 3 };
    const [listed] = (await call('GET', '/api/v1/management-clusters')).body as unknown as Record<string, unknown>[];
    assert.deepEqual(listed!['used'], { ...reserved, controlPlanes: 1 });
    assert.deepEqual(listed!['free'], { cpuMillicores: 8000 - 1350, memoryBytes: 32 * Gi - 2880 * Mi, controlPlanes: 9 });
    assert.deepEqual(
      (listed!['controlPlanes'] as Record<string, unknown>[]).map((row) => ({ ...row, createdAt: undefined })),
      [{ clusterId: 'shop-1a2b3c', size: 'small', replicas: 3, namespace: 'hcp-shop-1a2b3c', endpoint: 'shop-1a2b3c.hcp.eu-1.example.com:6443', reserved, createdAt: undefined }],
    );

    const placed = await call('GET', '/api/v1/hosted-control-planes/shop-1a2b3c');
    assert.equal(placed.status, 200);
    assert.equal(placed.body['managementCluster'], 'mgmt-eu-1');
    assert.deepEqual(placed.body['reserved'], reserved);
    const manifest = placed.body['manifest'] as { apiVersion: string; kind: string; metadata: { namespace: string }; spec: { kubernetes: { version: string }; controlPlane: { deployment: { replicas: number } } } };
    assert.deepEqual([manifest.apiVersion, manifest.kind, manifest.metadata.namespace], ['kamaji.clastix.io/v1alpha1', 'TenantControlPlane', 'hcp-shop-1a2b3c']);
    assert.equal(manifest.spec.kubernetes.version, 'v1.33.4');
    assert.equal(manifest.spec.controlPlane.deployment.replicas, 3);

    assert.equal((await call('GET', '/api/v1/hosted-control-planes/nobody')).status, 404);
    const badId = await call('GET', '/api/v1/hosted-control-planes/Not_An_Id');
    assert.equal(badId.status, 400);
    assert.deepEqual(fields(badId), ['clusterId']);
  });

  it('the savings report compares with dedicated control-plane machines', async () => {
    const report = await call('GET', '/api/v1/hosted-control-planes/savings');
    assert.equal(report.status, 200);
    assert.deepEqual(report.body['totals'], {
      controlPlanes: 1,
      replicas: 3,
      dedicated: { cpuMillicores: 6000, memoryBytes: 12 * Gi },
      hosted: { cpuMillicores: 1350, memoryBytes: 2880 * Mi },
      saved: { cpuMillicores: 4650, memoryBytes: 12 * Gi - 2880 * Mi },
    });
    const [perCluster] = report.body['managementClusters'] as Record<string, unknown>[];
    assert.equal(perCluster!['name'], 'mgmt-eu-1');
    assert.deepEqual(perCluster!['utilisation'], { cpu: 1350 / 8000, memory: (2880 * Mi) / (32 * Gi), controlPlanes: 0.1 });
  });

  it('PATCH cordons and uncordons, changes capacity, and refuses capacity below what is reserved with the numbers', async () => {
    const cordoned = await call('PATCH', '/api/v1/management-clusters/mgmt-eu-1', { state: 'cordoned' });
    assert.equal(cordoned.status, 200);
    assert.equal(cordoned.body['state'], 'cordoned');
    const refusedPlacement = await app.get<ControlPlanePlacement>(CONTROL_PLANE_PLACEMENT).reserve('other-1', hostedSpec);
    assert.equal(!refusedPlacement.ok && refusedPlacement.code, 'management-capacity-exhausted');
    assert.equal((await call('PATCH', '/api/v1/management-clusters/mgmt-eu-1', { state: 'active' })).body['state'], 'active');

    const below = await call('PATCH', '/api/v1/management-clusters/mgmt-eu-1', { capacity: { cpuMillicores: 1000, memoryBytes: 1 * Gi } });
    assert.equal(below.status, 409);
    assert.equal(below.body['code'], 'capacity-below-reserved');
    assert.deepEqual(below.body['shortfalls'], [
      { field: 'capacity.cpuMillicores', requested: 1000, reserved: 1350 },
      { field: 'capacity.memoryBytes', requested: 1 * Gi, reserved: 2880 * Mi },
    ]);
    assert.match(String(below.body['message']), /capacity\.cpuMillicores 1000 < 1350 reserved/);

    const changed = await call('PATCH', '/api/v1/management-clusters/mgmt-eu-1', { capacity: { cpuMillicores: 1350 }, labels: { region: 'eu-1', tier: 'gold' } });
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.body['capacity'], { cpuMillicores: 1350, memoryBytes: 32 * Gi, maxControlPlanes: 10 });
    assert.deepEqual(changed.body['labels'], { region: 'eu-1', tier: 'gold' });
    assert.equal((changed.body['free'] as { cpuMillicores: number }).cpuMillicores, 0);
  });

  it('PATCH: 404 for an unknown cluster, 400 naming the field for a bad body or name', async () => {
    assert.equal((await call('PATCH', '/api/v1/management-clusters/nowhere', { state: 'cordoned' })).status, 404);
    const badState = await call('PATCH', '/api/v1/management-clusters/mgmt-eu-1', { state: 'draining' });
    assert.equal(badState.status, 400);
    assert.deepEqual(fields(badState), ['state']);
    const badCapacity = await call('PATCH', '/api/v1/management-clusters/mgmt-eu-1', { capacity: { memoryBytes: 'lots' } });
    assert.deepEqual([badCapacity.status, fields(badCapacity)], [400, ['capacity.memoryBytes']]);
    const nothing = await call('PATCH', '/api/v1/management-clusters/mgmt-eu-1', {});
    assert.equal(nothing.status, 400);
    const badName = await call('PATCH', '/api/v1/management-clusters/UPPER', { state: 'active' });
    assert.deepEqual([badName.status, fields(badName)], [400, ['name']]);
  });

  it('the OpenAPI document describes every route', () => {
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().build());
    assert.deepEqual(Object.keys(document.paths).sort(), [
      '/api/v1/hosted-control-planes/savings',
      '/api/v1/hosted-control-planes/{clusterId}',
      '/api/v1/management-clusters',
      '/api/v1/management-clusters/{name}',
    ]);
    assert.ok(document.paths['/api/v1/management-clusters']?.post?.requestBody);
  });
});
