import { after, before } from 'node:test';
import { DataSource, type MigrationInterface } from 'typeorm';
import { BusConnection, busOptions, ensureStreams, MESSAGING_MIGRATIONS, type BusOptions } from '../../src/index.js';
import { createTestSchema, deleteTestStreams, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix, type TestSchema } from '../../src/testing/index.js';

/** What a suite's tests share: a bus connection, a schema of their own with a probe, and streams under a fresh prefix. */
export interface BusFixture {
  bus: BusConnection;
  schema: TestSchema;
  probe: DataSource;
  options: BusOptions;
}

/** Sets the fixture up before the suite (filled in then) and removes it after. */
export function useBusFixture(client: string, migrations: (new () => MigrationInterface)[], overrides: Partial<BusOptions> & Pick<BusOptions, 'service'>): BusFixture {
  const fixture = {} as BusFixture;
  before(async () => {
    fixture.bus = await BusConnection.open(TEST_NATS_URL, client);
    fixture.schema = await createTestSchema([...MESSAGING_MIGRATIONS, ...migrations]);
    fixture.probe = await new DataSource(fixture.schema.dataSourceOptions()).initialize();
    fixture.options = busOptions({ prefix: testBusPrefix(), natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES, ...overrides });
    await ensureStreams(fixture.bus.jsm, fixture.options);
  });
  after(async () => {
    await deleteTestStreams(fixture.bus.jsm, fixture.options.prefix);
    await fixture.probe.destroy();
    await fixture.schema.drop();
    await fixture.bus.drain();
  });
  return fixture;
}
