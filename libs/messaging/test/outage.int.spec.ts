import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { BusConnection, busOptions, type BusOptions } from '../src/index.js';
import { createTestSchema, deleteTestStreams, eventually, TcpProxy, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix, type TestSchema } from '../src/testing/index.js';
import { requestCluster } from './support/requests.js';
import { closeLedgerApp, MIGRATIONS, startLedgerApp } from './support/test-app.js';

describe('a PostgreSQL outage with events in flight', { timeout: 60_000 }, () => {
  let bus: BusConnection;
  let schema: TestSchema;
  let probe: DataSource;
  let proxy: TcpProxy;
  let options: BusOptions;

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'outage-int-test');
    schema = await createTestSchema(MIGRATIONS);
    probe = await new DataSource(schema.dataSourceOptions()).initialize();
    proxy = await TcpProxy.start(5432);
    // Few deliveries and short delays: a runtime that spent deliveries on the outage would give up fast.
    options = busOptions({ service: 'ledger', prefix: testBusPrefix(), natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES, maxDeliver: 3, retry: { baseDelayMs: 50, maxDelayMs: 200 }, relayPollMs: 200 });
  });

  after(async () => {
    await proxy.open();
    await deleteTestStreams(bus.jsm, options.prefix);
    await probe.destroy();
    await schema.drop();
    await proxy.cut();
    await bus.drain();
  });

  it('loses no event: the batch waits for the database instead of spending its deliveries', async () => {
    const url = new URL(schema.url);
    url.port = String(proxy.port);
    const app = await startLedgerApp({ schema: { ...schema, dataSourceOptions: (extra) => ({ ...schema.dataSourceOptions(extra), url: url.toString() }) as never }, bus: options });
    try {
      await proxy.cut();
      const ids = Array.from({ length: 20 }, (_, i) => `outage-${i}`);
      await Promise.all(ids.map((id) => requestCluster(bus, options, id)));
      // Far longer than maxDeliver x the retry delays.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await proxy.open();
      await eventually(async () => {
        const rows = await probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM nodes_seen WHERE cluster_id LIKE 'outage-%'`);
        return rows[0]?.n === ids.length ? true : undefined;
      }, 30_000, 'every event handled after the outage');
      const twice = await probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM requests_handled WHERE cluster_id LIKE 'outage-%' AND times > 1`);
      assert.equal(twice[0]?.n, 0, 'no effect applied twice');
      const dlq = await bus.jsm.streams.info(`${options.prefix.toUpperCase()}_DLQ`);
      assert.equal(dlq.state.messages, 0, 'nothing dead-lettered because of the outage');
    } finally {
      await closeLedgerApp(app);
    }
  });
});
