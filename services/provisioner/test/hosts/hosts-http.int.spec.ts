import 'reflect-metadata';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Global, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuditTrail } from '@flotilla/auth';
import { UnitOfWork } from '@flotilla/messaging';
import { databaseUrl, ensureDatabase, randomSuffix } from '@flotilla/messaging/testing';
import { KeyRing, SecretsModule, secretsEntities, secretsMigrations } from '@flotilla/secrets';
import { Clock, DatabaseModule } from '@flotilla/service-kit';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { JoinSecretsRepository } from '../../src/bootstrap/join-secrets.repository.js';
import { hostsControllers, hostsEntities, hostsMigrations, hostsProviders } from '../../src/hosts/hosts.providers.js';
import { SshBootstrapper } from '../../src/hosts/ssh.bootstrapper.js';
import { TenantClusters } from '../../src/hosted/tenant-clusters.js';
import { tearDown, TestSshd } from '../support/sshd.js';
import { clusterId, joinRequests, userClusterSpec } from './support.js';

@Global()
@Module({
  providers: [
    { provide: UnitOfWork, inject: [DataSource], useFactory: (dataSource: DataSource) => new UnitOfWork(dataSource, { service: 'provisioner', prefix: 'test' }) },
    // The service's audit trail (and its guard) come with the service kit, which this app leaves out.
    { provide: AuditTrail, useValue: { recordUse: async () => undefined } },
    // No hosted clusters here: their workers' join material is never asked for.
    { provide: TenantClusters, useValue: { joinMaterial: async () => undefined } },
  ],
  exports: [UnitOfWork, AuditTrail, TenantClusters],
})
class UnitOfWorkModule {}

const DATABASE = databaseUrl('flotilla_test');

/** The hosts' controllers and providers as the provisioner wires them, on a schema of their own. */
async function startApp(schema: string): Promise<{ app: INestApplication; url: string }> {
  await ensureDatabase('flotilla_test');
  @Module({
    imports: [
      DatabaseModule.forRoot({ url: DATABASE, schema, migrations: [...hostsMigrations, ...secretsMigrations], entities: [...hostsEntities, ...secretsEntities] }),
      UnitOfWorkModule,
      SecretsModule.forRoot({ keys: KeyRing.parse(KeyRing.generateConfigValue(['test-1'])) }),
    ],
    controllers: hostsControllers,
    providers: [...hostsProviders, JoinSecretsRepository, Clock],
  })
  class TestHostsModule {}
  const app = await NestFactory.create(TestHostsModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}` };
}

async function send(url: string, method: string, body?: unknown): Promise<{ status: number; text: string; json: unknown }> {
  const response = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, text, json: text ? JSON.parse(text) : null };
}

describe('HTTP: SSH keys and hosts', () => {
  const schema = `hosts_http_${randomSuffix()}`;
  let app: INestApplication;
  let url: string;
  let sshd: TestSshd;

  before(async () => {
    ({ app, url } = await startApp(schema));
    sshd = await TestSshd.start({ address: '127.0.0.41' });
  });

  after(async () => {
    await tearDown(
      () => app.close(),
      () => sshd.stop(),
      async () => {
        const client = new pg.Client({ connectionString: DATABASE });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      },
    );
  });

  it('registers an OpenSSH key: 201 with ref, type and the fingerprint ssh-keygen shows, never the key', async () => {
    const response = await send(`${url}/api/v1/ssh-keys`, 'POST', { name: 'ops', privateKey: sshd.userPrivateKey });
    assert.equal(response.status, 201, response.text);
    const body = response.json as Record<string, unknown>;
    assert.deepEqual({ ...body, createdAt: typeof body['createdAt'] }, { ref: 'sshkey-ops', name: 'ops', type: 'ssh-ed25519', fingerprint: sshd.userKeyFingerprint, createdAt: 'string' });
    assert.ok(!response.text.includes(sshd.userPrivateKey.split('\n')[1]!));
  });

  it('registers a PEM key too', async () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const response = await send(`${url}/api/v1/ssh-keys`, 'POST', { name: 'legacy-rsa', privateKey: pem });
    assert.equal(response.status, 201, response.text);
    assert.equal((response.json as { type: string }).type, 'ssh-rsa');
  });

  it('refuses junk with a 400 naming privateKey, without echoing it', async () => {
    const junk = '-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWJ1dC1ub3QtYS1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n';
    const response = await send(`${url}/api/v1/ssh-keys`, 'POST', { name: 'junk', privateKey: junk });
    assert.equal(response.status, 400);
    assert.deepEqual((response.json as { errors: unknown }).errors, [{ field: 'privateKey', message: 'is not an OpenSSH or PEM private key' }]);
    assert.ok(!response.text.includes('c2VjcmV0LWJ1dC1ub3QtYS1rZXk'));
  });

  it('refuses a public key, a bad name and missing fields, naming each field', async () => {
    const publicKey = await send(`${url}/api/v1/ssh-keys`, 'POST', { name: 'pub', privateKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host' });
    assert.equal(publicKey.status, 400);
    assert.deepEqual((publicKey.json as { errors: unknown }).errors, [{ field: 'privateKey', message: 'is a public key: the private key is needed' }]);
    const badName = await send(`${url}/api/v1/ssh-keys`, 'POST', { name: 'Bad Name!', privateKey: sshd.userPrivateKey });
    assert.equal(badName.status, 400);
    assert.deepEqual(((badName.json as { errors: { field: string }[] }).errors).map((error) => error.field), ['name']);
    assert.ok(!badName.text.includes(sshd.userPrivateKey.split('\n')[1]!));
    const missing = await send(`${url}/api/v1/ssh-keys`, 'POST', {});
    assert.equal(missing.status, 400);
    assert.deepEqual(((missing.json as { errors: { field: string }[] }).errors).map((error) => error.field), ['name', 'privateKey']);
  });

  it('refuses a second key under the same name with 409', async () => {
    const response = await send(`${url}/api/v1/ssh-keys`, 'POST', { name: 'ops', privateKey: sshd.userPrivateKey });
    assert.equal(response.status, 409);
    assert.deepEqual((response.json as { errors: unknown }).errors, [{ field: 'name', message: 'an SSH key named "ops" exists already' }]);
  });

  it('lists keys without key material', async () => {
    const response = await send(`${url}/api/v1/ssh-keys`, 'GET');
    assert.equal(response.status, 200);
    const keys = response.json as { ref: string; fingerprint: string }[];
    assert.deepEqual(keys.map((key) => key.ref).sort(), ['sshkey-legacy-rsa', 'sshkey-ops']);
    assert.ok(!response.text.includes('PRIVATE KEY'));
  });

  it('shows a cluster\'s hosts: facts, checks and steps with secrets masked', async () => {
    const id = clusterId();
    const spec = userClusterSpec([{ sshd, role: 'control-plane', keyRef: 'sshkey-ops' }]);
    const request = joinRequests(id, spec).get(`${id}-cp-0`)!;
    assert.deepEqual(await app.get(SshBootstrapper).joinNode(request), { state: 'joined', kubeletVersion: 'v1.34.2' });

    const response = await send(`${url}/api/v1/provisioner/clusters/${id}/hosts`, 'GET');
    assert.equal(response.status, 200, response.text);
    const body = response.json as { hosts: { machine: string; role: string; address: string; facts: { hostname: string }; checks: { check: string; status: string }[]; steps: { step: string; exitCode: number; output: string }[] }[] };
    assert.equal(body.hosts.length, 1);
    const [host] = body.hosts;
    assert.deepEqual([host!.machine, host!.role, host!.address, host!.facts.hostname], [`${id}-cp-0`, 'control-plane', '127.0.0.41', 'host-127-0-0-41']);
    assert.deepEqual(host!.checks.map((check) => `${check.check}:${check.status}`).sort(), ['container-runtime:pass', 'cpu:pass', 'hostname-unique:pass', 'ip-forward:pass', 'memory:pass', 'os-supported:pass', 'ports:pass', 'swap:pass']);
    assert.deepEqual(host!.steps.map((step) => `${step.step}:${step.exitCode}`), [
      'packages-before:0',
      'write-kubeadm-config:0',
      'write-kube-vip-manifest:0',
      'write-cluster-ca:0',
      'write-cluster-ca-key:0',
      'kubeadm-init:0',
      'kube-vip-admin-kubeconfig:0',
      'kubelet-version:0',
    ]);
    assert.match(host!.steps.find((step) => step.step === 'kubeadm-init')!.output, /--token \*\*\*/);
    const { bootstrapToken, certificateKey } = await app.get(JoinSecretsRepository).forCluster(id);
    assert.ok(!response.text.includes(bootstrapToken) && !response.text.includes(certificateKey));

    assert.equal((await send(`${url}/api/v1/provisioner/clusters/unknown-cluster/hosts`, 'GET')).status, 404);
  });

  it('forgets a pinned host key on request', async () => {
    assert.equal((await send(`${url}/api/v1/provisioner/host-keys/127.0.0.41/${sshd.port}`, 'DELETE')).status, 204);
    assert.equal((await send(`${url}/api/v1/provisioner/host-keys/127.0.0.41/${sshd.port}`, 'DELETE')).status, 404);
  });

  it('refuses a host key path whose port is not a TCP port, naming it', async () => {
    const answer = await send(`${url}/api/v1/provisioner/host-keys/127.0.0.41/99999`, 'DELETE');
    assert.equal(answer.status, 400);
    assert.deepEqual((answer.json as { errors: { field: string }[] }).errors.map((problem) => problem.field), ['port']);
  });

  it('deletes a key: 204, then 404', async () => {
    assert.equal((await send(`${url}/api/v1/ssh-keys/sshkey-legacy-rsa`, 'DELETE')).status, 204);
    assert.equal((await send(`${url}/api/v1/ssh-keys/sshkey-legacy-rsa`, 'DELETE')).status, 404);
    assert.deepEqual(((await send(`${url}/api/v1/ssh-keys`, 'GET')).json as { ref: string }[]).map((key) => key.ref), ['sshkey-ops']);
  });
});
