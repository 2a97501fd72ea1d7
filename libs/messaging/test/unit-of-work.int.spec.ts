import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventRejected } from '@flotilla/contracts';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { MESSAGING_MIGRATIONS, outboxInsertSql, UnitOfWork, type OutboxRow } from '../src/index.js';
import { createTestSchema, testBusPrefix, type TestSchema } from '../src/testing/index.js';

class NotesTable1732300000004 implements MigrationInterface {
  name = 'NotesTable1732300000004';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE notes (name text PRIMARY KEY)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE notes`);
  }
}

describe('UnitOfWork.run against PostgreSQL', { timeout: 30_000 }, () => {
  let schema: TestSchema;
  let dataSource: DataSource;
  let unitOfWork: UnitOfWork;
  const notice = { rejectedEventId: 'x', code: 'unparseable', reason: 'bad', consumer: 'c', deadLetterSubject: 't.dlq.c' } as const;
  const notes = async (): Promise<string[]> => (await dataSource.query<{ name: string }[]>(`SELECT name FROM notes ORDER BY name`)).map((row) => row.name);
  const outboxRows = async (): Promise<number> => (await dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM outbox`))[0]!.n;

  before(async () => {
    schema = await createTestSchema([...MESSAGING_MIGRATIONS, NotesTable1732300000004]);
    dataSource = await new DataSource(schema.dataSourceOptions()).initialize();
    unitOfWork = new UnitOfWork(dataSource, { service: 'notes', prefix: testBusPrefix() });
  });

  after(async () => {
    await dataSource.destroy();
    await schema.drop();
  });

  it('commits the work and its emitted events together', async () => {
    await unitOfWork.run(async () => {
      await unitOfWork.manager.query(`INSERT INTO notes (name) VALUES ('kept')`);
      unitOfWork.emit(EventRejected, 'n-1', notice);
    });
    assert.deepEqual(await notes(), ['kept']);
    assert.equal(await outboxRows(), 1);
  });

  it('refuses work that caught a database error and went on, when it emitted nothing: nothing is passed off as committed', async () => {
    await assert.rejects(
      unitOfWork.run(async () => {
        await unitOfWork.manager.query(`INSERT INTO notes (name) VALUES ('lost')`);
        await unitOfWork.manager.query(`SELECT 1 / 0`).catch(() => undefined);
        return 'done';
      }),
      /a database error was caught and the work went on, but it had aborted the transaction/,
    );
    assert.deepEqual(await notes(), ['kept']);
  });

  it('refuses it too when it emitted events, and writes none of them', async () => {
    await assert.rejects(
      unitOfWork.run(async () => {
        await unitOfWork.manager.query(`SELECT 1 / 0`).catch(() => undefined);
        unitOfWork.emit(EventRejected, 'n-2', notice);
      }),
      /a database error was caught and the work went on/,
    );
    assert.equal(await outboxRows(), 1);
  });

  it('gives back a connection that is ready for the next unit of work', async () => {
    for (let i = 0; i < 12; i++) await unitOfWork.run(() => unitOfWork.manager.query(`INSERT INTO notes (name) VALUES ($1)`, [`n-${i}`]));
    assert.equal((await notes()).length, 13);
  });

  describe('writeWithEvents: a change and its events in one statement', () => {
    // Adds a note unless it is there, with the events' rows only when it added it.
    const addNote = (name: string) => (outboxRows: string) =>
      unitOfWork.manager
        .query<{ name: string }[]>(
          `WITH added AS (INSERT INTO notes (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING name),
                events AS (${outboxInsertSql('$2', 'EXISTS (SELECT 1 FROM added)')})
           SELECT name FROM added`,
          [name, outboxRows],
        )
        .then((rows) => rows.length > 0);
    const event = (subject: string) => ({ definition: EventRejected, subject, data: notice });
    const published: OutboxRow[] = [];
    before(() => unitOfWork.onCommitted((rows) => published.push(...rows)));

    it('writes the events with the change and tells the relay, with no transaction', async () => {
      const before = await outboxRows();
      published.length = 0;
      assert.equal(await unitOfWork.writeWithEvents([event('w-1'), event('w-1')], addNote('written')), true);
      assert.ok((await notes()).includes('written'));
      assert.equal((await outboxRows()) - before, 2);
      assert.equal(published.length, 2);
    });

    it('writes none when the statement changed nothing, and tells nobody', async () => {
      const before = await outboxRows();
      published.length = 0;
      assert.equal(await unitOfWork.writeWithEvents([event('w-2')], addNote('written')), false);
      assert.equal(await outboxRows(), before);
      assert.equal(published.length, 0);
    });

    it('inside a transaction, leaves the events to its commit', async () => {
      const before = await outboxRows();
      published.length = 0;
      await unitOfWork.run(async () => {
        assert.equal(await unitOfWork.writeWithEvents([event('w-3')], addNote('in-transaction')), true);
        assert.equal(published.length, 0);
      });
      assert.equal((await outboxRows()) - before, 1);
      assert.equal(published.length, 1);
    });
  });
});
