import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MessagingTables1732300000000, UnitOfWork } from '@flotilla/messaging';
import { createTestSchema, eventually, type TestSchema } from '@flotilla/messaging/testing';
import { DataSource } from 'typeorm';
import { KeyRing, KeyRotation, Secret, SecretsError, SecretStore, secretsEntities, secretsMigrations } from '../src/index.js';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };

describe('SecretStore on PostgreSQL', () => {
  let schema: TestSchema;
  let dataSource: DataSource;
  let unitOfWork: UnitOfWork;
  const storeWith = (...keys: { id: string; key: Buffer }[]) => new SecretStore(unitOfWork, KeyRing.of(keys));

  before(async () => {
    schema = await createTestSchema([MessagingTables1732300000000, ...secretsMigrations], 'secrets');
    dataSource = new DataSource(schema.dataSourceOptions({ entities: secretsEntities }));
    await dataSource.initialize();
    unitOfWork = new UnitOfWork(dataSource, { service: 'importer', prefix: 'unused' });
  });

  after(async () => {
    await dataSource.destroy();
    await schema.drop();
  });

  it('puts, reveals, describes, lists and deletes', async () => {
    const store = storeWith(k1);
    await store.put('crud/a', 'bearer-token', new Secret('token-a'), { cluster: 'c-1' });
    await store.put('crud/b', 'ssh-key', Buffer.from([0, 1, 2, 255]));
    assert.equal((await store.reveal('crud/a'))?.revealString(), 'token-a');
    assert.deepEqual((await store.reveal('crud/b'))?.reveal(), Buffer.from([0, 1, 2, 255]));
    assert.equal(await store.reveal('crud/none'), undefined);

    const described = await store.describe('crud/a');
    assert.deepEqual({ ...described, createdAt: undefined, updatedAt: undefined }, { ref: 'crud/a', kind: 'bearer-token', kekId: 'k1', metadata: { cluster: 'c-1' }, createdAt: undefined, updatedAt: undefined });
    assert.deepEqual(
      (await store.list()).filter((d) => d.ref.startsWith('crud/')).map((d) => d.ref),
      ['crud/a', 'crud/b'],
    );
    assert.deepEqual(
      (await store.list('ssh-key')).map((d) => d.ref),
      ['crud/b'],
    );

    // An upsert replaces value, kind and metadata, keeps createdAt, moves updatedAt.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await store.put('crud/a', 'bearer-token', 'token-a2', { cluster: 'c-1', rotated: 'yes' });
    const replaced = await store.describe('crud/a');
    assert.equal((await store.reveal('crud/a'))?.revealString(), 'token-a2');
    assert.equal(replaced?.createdAt, described?.createdAt);
    assert.ok(replaced && described && replaced.updatedAt > described.updatedAt);
    assert.deepEqual(replaced?.metadata, { cluster: 'c-1', rotated: 'yes' });

    assert.equal(await store.delete('crud/a'), true);
    assert.equal(await store.delete('crud/a'), false);
    assert.equal(await store.reveal('crud/a'), undefined);
  });

  it("joins the caller's transaction: a rollback leaves nothing behind", async () => {
    const store = storeWith(k1);
    await assert.rejects(
      unitOfWork.run(async () => {
        await store.put('tx/rolled-back', 'bearer-token', 'never stored');
        assert.equal((await store.reveal('tx/rolled-back'))?.revealString(), 'never stored', 'visible inside the transaction');
        throw new Error('the state change failed');
      }),
      /the state change failed/,
    );
    assert.equal(await store.describe('tx/rolled-back'), undefined);
  });

  it('keeps no plaintext in the table: a dump shows none of it', async () => {
    const store = storeWith(k1);
    const values = Array.from({ length: 5 }, (_, i) => `dump-secret-${i}-${randomBytes(8).toString('hex')}`);
    for (const [i, value] of values.entries()) await store.put(`dump/${i}`, 'bearer-token', value, { note: 'plain metadata' });
    const rows: { row: string }[] = await dataSource.query(`SELECT t::text AS row FROM secrets t WHERE ref LIKE 'dump/%'`);
    assert.equal(rows.length, values.length);
    const dump = rows.map((r) => r.row).join('\n');
    assert.match(dump, /plain metadata/, 'the dump does show the rows');
    for (const value of values) {
      for (const encoded of [value, Buffer.from(value).toString('hex'), Buffer.from(value).toString('base64')]) {
        assert.ok(!dump.includes(encoded), 'a value shows in the dump');
      }
    }
    for (const key of [k1.key.toString('hex'), k1.key.toString('base64')]) assert.ok(!dump.includes(key));
  });

  it('refuses a ciphertext moved to another row', async () => {
    const store = storeWith(k1);
    await store.put('moved/a', 'bearer-token', 'value of a');
    await store.put('moved/b', 'bearer-token', 'value of b');
    await dataSource.query(
      `UPDATE secrets b SET kek_id = a.kek_id, wrapped_key = a.wrapped_key, wrap_iv = a.wrap_iv, wrap_tag = a.wrap_tag, iv = a.iv, ciphertext = a.ciphertext, tag = a.tag
         FROM secrets a WHERE a.ref = 'moved/a' AND b.ref = 'moved/b'`,
    );
    await assert.rejects(store.reveal('moved/b'), (error: unknown) => {
      assert.ok(error instanceof SecretsError);
      assert.equal(error.code, 'decrypt-failed');
      assert.match(error.message, /secret "moved\/b"/);
      assert.ok(!error.message.includes('value of'));
      return true;
    });
  });

  it('rotates the key with no downtime: readers keep revealing while two replicas rewrap', async () => {
    await dataSource.query(`DELETE FROM secrets`);
    const before = storeWith(k1);
    const count = 300;
    const valueOf = (i: number) => `rotation-value-${i}`;
    for (let i = 0; i < count; i += 1) await before.put(`rot/${String(i).padStart(4, '0')}`, 'bearer-token', valueOf(i));
    assert.deepEqual(await before.countByKek(), { k1: count });

    // Deployed with k2 first and k1 still listed: both open, k2 wraps.
    const replicaA = storeWith(k2, k1);
    const replicaB = storeWith(k2, k1);
    let rewrapping = true;
    let reads = 0;
    const readers = Array.from({ length: 3 }, async () => {
      while (rewrapping) {
        const i = Math.floor(Math.random() * count);
        const secret = await replicaA.reveal(`rot/${String(i).padStart(4, '0')}`);
        assert.equal(secret?.revealString(), valueOf(i));
        reads += 1;
      }
    });
    const rewrapper = async (store: SecretStore) => {
      let moved = 0;
      for (;;) {
        const batch = await store.rewrapBatch(10);
        if (batch === 0) return moved;
        moved += batch;
      }
    };
    const moved = await Promise.all([rewrapper(replicaA), rewrapper(replicaB)]);
    rewrapping = false;
    await Promise.all(readers);

    assert.equal(moved[0] + moved[1], count, 'every row moved exactly once across both replicas');
    assert.ok(reads > 0);
    assert.deepEqual(await replicaA.countByKek(), { k2: count });
    // k1 can go now: a ring without it opens everything.
    const after = storeWith(k2);
    for (let i = 0; i < count; i += 1) assert.equal((await after.reveal(`rot/${String(i).padStart(4, '0')}`))?.revealString(), valueOf(i));
    assert.equal(await replicaA.rewrapBatch(10), 0);
  });

  it('leaves rows under a key the ring does not list alone, and reports them', async () => {
    await dataSource.query(`DELETE FROM secrets`);
    const k0 = { id: 'k0', key: randomBytes(32) };
    await storeWith(k0).put('orphan/a', 'bearer-token', 'under a dropped key');
    await storeWith(k1).put('orphan/b', 'bearer-token', 'under k1');
    const store = storeWith(k2, k1);
    assert.equal(await store.rewrapBatch(100), 1);
    assert.deepEqual(await store.countByKek(), { k0: 1, k2: 1 });
    await assert.rejects(store.reveal('orphan/a'), (error: unknown) => error instanceof SecretsError && error.code === 'unknown-kek');
  });

  it('re-wraps in the background once started (KeyRotation)', async () => {
    await dataSource.query(`DELETE FROM secrets`);
    const old = storeWith(k1);
    for (let i = 0; i < 50; i += 1) await old.put(`bg/${i}`, 'bearer-token', `bg-${i}`);
    const keys = KeyRing.of([k2, k1]);
    const store = new SecretStore(unitOfWork, keys);
    const rotation = new KeyRotation(store, keys, { intervalMs: 50, batchSize: 7 });
    rotation.onApplicationBootstrap();
    try {
      await eventually(async () => {
        const counts = await store.countByKek();
        return counts['k1'] === undefined && counts['k2'] === 50 ? counts : undefined;
      }, 10_000, 'every secret under k2');
      // New secrets written meanwhile are sealed under k2 straight away.
      await store.put('bg/new', 'bearer-token', 'new');
      assert.equal((await store.describe('bg/new'))?.kekId, 'k2');
    } finally {
      await rotation.onModuleDestroy();
    }
  });
});
