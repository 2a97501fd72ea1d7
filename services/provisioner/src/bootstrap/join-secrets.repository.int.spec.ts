import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { UnitOfWork } from '@flotilla/messaging';
import { createTestSchema, type TestSchema } from '@flotilla/messaging/testing';
import { KeyRing, SecretStore, secretsEntities, secretsMigrations } from '@flotilla/secrets';
import { Clock } from '@flotilla/service-kit';
import { DataSource } from 'typeorm';
import { JoinSecretsCorruptError, JoinSecretsRepository, joinSecretsRef } from './join-secrets.repository.js';

describe('join secrets repository (PostgreSQL)', () => {
  let schema: TestSchema;
  const keys = KeyRing.of([{ id: 'k1', key: randomBytes(32) }]);
  const dataSources: DataSource[] = [];

  /** One replica: its own connection pool, unit of work and store. */
  async function replica(): Promise<{ repository: JoinSecretsRepository; store: SecretStore; dataSource: DataSource }> {
    const dataSource = new DataSource(schema.dataSourceOptions({ entities: secretsEntities }));
    await dataSource.initialize();
    dataSources.push(dataSource);
    const store = new SecretStore(new UnitOfWork(dataSource, { service: 'provisioner', prefix: 'test' }), keys);
    return { repository: new JoinSecretsRepository(store, new UnitOfWork(dataSource, { service: 'provisioner', prefix: 'test' }), new Clock()), store, dataSource };
  }

  before(async () => {
    schema = await createTestSchema(secretsMigrations, 'joinsecrets');
  });

  after(async () => {
    for (const dataSource of dataSources) await dataSource.destroy();
    await schema.drop();
  });

  it('makes a set on first use and returns the same one after', async () => {
    const { repository } = await replica();
    assert.equal(await repository.find('c1'), undefined);
    const first = await repository.forCluster('c1');
    const again = await repository.forCluster('c1');
    assert.deepEqual(again, first);
    const other = await repository.forCluster('c2');
    assert.notEqual(other.bootstrapToken, first.bootstrapToken);
    assert.notEqual(other.caCertHash, first.caCertHash);
  });

  it('stores it sealed: neither the token nor the CA key is in the table', async () => {
    const { repository, dataSource } = await replica();
    const secrets = await repository.forCluster('sealed');
    const rows: { ciphertext: Buffer; metadata: Record<string, string>; kind: string }[] = await dataSource.query(`SELECT ciphertext, metadata, kind FROM secrets WHERE ref = $1`, [joinSecretsRef('sealed')]);
    assert.equal(rows.length, 1);
    const stored = JSON.stringify(rows[0]) + rows[0]!.ciphertext.toString('latin1');
    for (const value of [secrets.bootstrapToken, secrets.certificateKey, secrets.ca.privateKeyPem.split('\n')[1]!]) assert.ok(!stored.includes(value));
    assert.deepEqual(rows[0]!.metadata, { clusterId: 'sealed', caCertHash: secrets.caCertHash });
    assert.equal(rows[0]!.kind, 'kubeadm-join');
  });

  it('ends with one set when replicas ask at once', async () => {
    const replicas = await Promise.all([replica(), replica(), replica()]);
    for (let round = 0; round < 5; round++) {
      const clusterId = `race-${round}`;
      const results = await Promise.all(replicas.flatMap(({ repository }) => [repository.forCluster(clusterId), repository.forCluster(clusterId)]));
      for (const result of results) assert.deepEqual(result, results[0], `round ${round}: every caller got the stored set`);
      assert.deepEqual(await replicas[0].repository.find(clusterId), results[0]);
    }
  });

  it('refuses a damaged record rather than replacing it, without quoting it', async () => {
    const { repository, store } = await replica();
    await store.put(joinSecretsRef('broken'), 'kubeadm-join', JSON.stringify({ clusterId: 'broken', bootstrapToken: 'leaked.value' }));
    await assert.rejects(repository.forCluster('broken'), (error: unknown) => {
      assert.ok(error instanceof JoinSecretsCorruptError);
      assert.ok(!error.message.includes('leaked.value'));
      assert.match(error.message, /bootstrapToken/);
      return true;
    });
    await store.put(joinSecretsRef('moved'), 'kubeadm-join', JSON.stringify(await repository.forCluster('origin')));
    await assert.rejects(repository.find('moved'), /another cluster/);
  });
});
