import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MESSAGING_MIGRATIONS, UnitOfWork } from '@flotilla/messaging';
import { createTestSchema, type TestSchema } from '@flotilla/messaging/testing';
import { KeyRing, SecretStore, secretsEntities, secretsMigrations } from '@flotilla/secrets';
import { Clock } from '@flotilla/service-kit';
import { DataSource } from 'typeorm';
import type { JoinMaterialIssuer } from './join-material-issuer.js';
import { JoinSecretsCorruptError, JoinSecretsRepository, joinSecretsRef } from './join-secrets.repository.js';

const HOUR_MS = 3_600_000;

class MovableClock extends Clock {
  private offsetMs = 0;
  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** A running cluster as far as join material goes: what it was asked to make, in order. */
class RecordingIssuer implements JoinMaterialIssuer {
  readonly calls: string[] = [];
  readonly tokens: string[] = [];
  refuse = false;
  /** Runs inside each call, before it answers (to look at what was stored meanwhile). */
  during: () => Promise<void> = async () => undefined;

  async createBootstrapToken(clusterId: string, token: string, ttlMs: number): Promise<void> {
    await this.during();
    if (this.refuse) throw new Error('the API server refused');
    this.calls.push(`token ${clusterId} ${ttlMs}`);
    this.tokens.push(token);
  }

  async uploadCertificates(clusterId: string, certificateKey: string): Promise<void> {
    await this.during();
    if (this.refuse) throw new Error('the API server refused');
    this.calls.push(`upload-certs ${clusterId} ${certificateKey}`);
  }
}

describe('join secrets repository (PostgreSQL)', () => {
  let schema: TestSchema;
  const keys = KeyRing.of([{ id: 'k1', key: randomBytes(32) }]);
  const dataSources: DataSource[] = [];

  /** One replica: its own connection pool, unit of work and store. */
  async function replica(clock: Clock = new Clock()): Promise<{ repository: JoinSecretsRepository; store: SecretStore; dataSource: DataSource }> {
    const dataSource = new DataSource(schema.dataSourceOptions({ entities: secretsEntities }));
    await dataSource.initialize();
    dataSources.push(dataSource);
    const store = new SecretStore(new UnitOfWork(dataSource, { service: 'provisioner', prefix: 'test' }), keys);
    return { repository: new JoinSecretsRepository(store, new UnitOfWork(dataSource, { service: 'provisioner', prefix: 'test' }), clock), store, dataSource };
  }

  before(async () => {
    schema = await createTestSchema([...MESSAGING_MIGRATIONS, ...secretsMigrations], 'joinsecrets');
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
    assert.deepEqual(rows[0]!.metadata, { clusterId: 'sealed', caCertHash: secrets.caCertHash, bootstrapTokenMintedAt: secrets.bootstrapTokenMintedAt, certificatesUploadedAt: secrets.certificatesUploadedAt });
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

  describe('forJoin: material that lasts the join, made again in the running cluster when it would not', () => {
    const worker = { controlPlane: false, windowMs: 10 * 60_000 };
    const controlPlane = { controlPlane: true, windowMs: 10 * 60_000 };

    it('hands out the stored set while it lasts the window, asking the cluster for nothing', async () => {
      const clock = new MovableClock();
      const { repository } = await replica(clock);
      const issuer = new RecordingIssuer();
      const made = await repository.forCluster('fresh');
      clock.advance(HOUR_MS);
      assert.deepEqual(await repository.forJoin('fresh', controlPlane, issuer), made);
      clock.advance(20 * HOUR_MS);
      assert.deepEqual(await repository.forJoin('fresh', worker, issuer), made);
      assert.deepEqual(issuer.calls, []);
    });

    it('past 24 h: a token is minted in the cluster first, then stored with its time; CA and certificate key stay', async () => {
      const clock = new MovableClock();
      const { repository } = await replica(clock);
      const issuer = new RecordingIssuer();
      const made = await repository.forCluster('old-token');
      clock.advance(25 * HOUR_MS);
      // While the cluster is asked, nothing new is stored yet.
      issuer.during = async () => assert.equal((await repository.find('old-token'))?.bootstrapToken, made.bootstrapToken);
      const renewed = await repository.forJoin('old-token', worker, issuer);
      assert.deepEqual(issuer.calls, [`token old-token ${24 * HOUR_MS}`]);
      assert.equal(renewed.bootstrapToken, issuer.tokens[0]);
      assert.notEqual(renewed.bootstrapToken, made.bootstrapToken);
      assert.ok(Math.abs(Date.parse(renewed.bootstrapTokenMintedAt) - clock.now().getTime()) < 5_000);
      assert.deepEqual([renewed.ca, renewed.caCertHash, renewed.certificateKey, renewed.certificatesUploadedAt], [made.ca, made.caCertHash, made.certificateKey, made.certificatesUploadedAt]);
      assert.deepEqual(await repository.find('old-token'), renewed);
      // Now it lasts: the next join asks for nothing more.
      issuer.during = async () => undefined;
      assert.deepEqual(await repository.forJoin('old-token', worker, issuer), renewed);
      assert.equal(issuer.calls.length, 1);
    });

    it('a control-plane join past 2 h (or whose window ends past them) gets the certificates uploaded again under the same key; a worker does not', async () => {
      const clock = new MovableClock();
      const { repository } = await replica(clock);
      const issuer = new RecordingIssuer();
      const made = await repository.forCluster('old-certs');
      clock.advance(HOUR_MS + 55 * 60_000);
      assert.deepEqual(await repository.forJoin('old-certs', worker, issuer), made);
      assert.deepEqual(issuer.calls, []);
      const renewed = await repository.forJoin('old-certs', controlPlane, issuer);
      assert.deepEqual(issuer.calls, [`upload-certs old-certs ${made.certificateKey}`]);
      assert.equal(renewed.certificateKey, made.certificateKey);
      assert.equal(renewed.bootstrapToken, made.bootstrapToken);
      assert.ok(Math.abs(Date.parse(renewed.certificatesUploadedAt) - clock.now().getTime()) < 5_000);
    });

    it('when the cluster refuses, nothing is stored and the caller hears of it', async () => {
      const clock = new MovableClock();
      const { repository } = await replica(clock);
      const issuer = new RecordingIssuer();
      const made = await repository.forCluster('refused');
      clock.advance(25 * HOUR_MS);
      issuer.refuse = true;
      await assert.rejects(repository.forJoin('refused', controlPlane, issuer), /refused/);
      assert.deepEqual(await repository.find('refused'), made);
    });

    it('replicas renewing at once each hand out a token the cluster has, and the newest is kept', async () => {
      const clock = new MovableClock();
      const replicas = await Promise.all([replica(clock), replica(clock), replica(clock)]);
      const issuer = new RecordingIssuer();
      await replicas[0].repository.forCluster('renew-race');
      clock.advance(25 * HOUR_MS);
      const results = await Promise.all(replicas.map(({ repository }) => repository.forJoin('renew-race', controlPlane, issuer)));
      for (const result of results) assert.ok(issuer.tokens.includes(result.bootstrapToken), 'a token the cluster made');
      const stored = (await replicas[0].repository.find('renew-race'))!;
      assert.ok(issuer.tokens.includes(stored.bootstrapToken));
      assert.ok(Date.parse(stored.bootstrapTokenMintedAt) > clock.now().getTime() - 5_000);
      assert.equal(new Set(results.map((result) => result.certificateKey)).size, 1, 'one certificate key throughout');
    });

    it('dates a set stored before lifetimes were recorded by its record, so an old one is renewed', async () => {
      const clock = new MovableClock();
      const { repository, store } = await replica(clock);
      const { bootstrapTokenMintedAt: _minted, certificatesUploadedAt: _uploaded, ...older } = await repository.forCluster('legacy-made');
      await store.put(joinSecretsRef('legacy'), 'kubeadm-join', JSON.stringify({ ...older, clusterId: 'legacy' }), { clusterId: 'legacy' });
      const createdAt = (await store.describe(joinSecretsRef('legacy')))!.createdAt;
      const read = (await repository.find('legacy'))!;
      assert.deepEqual([read.bootstrapTokenMintedAt, read.certificatesUploadedAt], [createdAt, createdAt]);
      clock.advance(25 * HOUR_MS);
      const issuer = new RecordingIssuer();
      await repository.forJoin('legacy', worker, issuer);
      assert.equal(issuer.calls.length, 1);
    });
  });
});
