import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { NodesProvisioned, eventsSubject, streamName } from '@flotilla/contracts';
import { DataSource } from 'typeorm';
import { BusConnection, busOptions, MessagingMetrics, type BusOptions } from '../src/index.js';
import { createTestSchema, deleteTestStreams, eventually, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix, type TestSchema } from '../src/testing/index.js';
import { requestCluster } from './support/requests.js';
import { readStream } from './support/streams.js';
import { closeLedgerApp, MIGRATIONS, startLedgerApp } from './support/test-app.js';

const processScript = fileURLToPath(new URL('./support/ledger-process.js', import.meta.url));

/** Starts the ledger in a child process and waits until it consumes. Resolves its exit. */
async function startDoomedProcess(schema: string, prefix: string, fault: string): Promise<{ exited: Promise<NodeJS.Signals | null> }> {
  const child = spawn(process.execPath, ['--enable-source-maps', processScript, schema, prefix, fault], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit').then(([, signal]) => signal as NodeJS.Signals | null);
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    void exited.then(() => reject(new Error('ledger process exited before it was ready')));
  });
  return { exited };
}

async function times(dataSource: DataSource, table: string, id: string): Promise<number | undefined> {
  const rows = await dataSource.query<{ times: number }[]>(`SELECT times FROM ${table} WHERE cluster_id = $1`, [id]);
  return rows[0]?.times;
}

async function metricValue(metrics: MessagingMetrics, outcome: string): Promise<number> {
  const metric = await metrics.consumed.get();
  return metric.values.filter((v) => v.labels['outcome'] === outcome).reduce((sum, v) => sum + v.value, 0);
}

describe('crash safety (a service SIGKILLed at the worst moment)', () => {
  let bus: BusConnection;
  let schema: TestSchema;
  let probe: DataSource;

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'crash-int-test');
    schema = await createTestSchema(MIGRATIONS);
    probe = await new DataSource(schema.dataSourceOptions()).initialize();
  });

  after(async () => {
    await probe.destroy();
    await schema.drop();
    await bus.drain();
  });

  const optionsFor = (prefix: string): BusOptions => busOptions({ service: 'ledger', prefix, natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES, ackWaitMs: 1_500, relayPollMs: 200 });

  it('a handler killed between commit and ack does not apply its effect twice', async () => {
    const options = optionsFor(testBusPrefix());
    try {
      const { exited } = await startDoomedProcess(schema.schema, options.prefix, 'kill-after-commit');
      await requestCluster(bus, options, 'crash-commit');
      assert.equal(await exited, 'SIGKILL');
      assert.equal(await times(probe, 'requests_handled', 'crash-commit'), 1, 'the effect was committed before the kill');

      // The unacked message comes back to the next replica; the inbox recognises it.
      const app = await startLedgerApp({ schema, bus: options, replica: 'survivor' });
      try {
        const metrics = app.get(MessagingMetrics);
        await eventually(async () => ((await metricValue(metrics, 'duplicate')) >= 1 ? true : undefined), 15_000, 'the redelivered duplicate');
        await eventually(async () => times(probe, 'nodes_seen', 'crash-commit'), 10_000, 'the derived event');
        assert.equal(await times(probe, 'requests_handled', 'crash-commit'), 1);
        assert.equal(await times(probe, 'nodes_seen', 'crash-commit'), 1);
      } finally {
        await closeLedgerApp(app);
      }
    } finally {
      await deleteTestStreams(bus.jsm, options.prefix);
    }
  });

  it('a relay killed between publish and mark-published causes no duplicate delivery', async () => {
    const options = optionsFor(testBusPrefix());
    const derivedSubject = eventsSubject(options, NodesProvisioned.channel);
    try {
      const { exited } = await startDoomedProcess(schema.schema, options.prefix, 'kill-after-publish');
      await requestCluster(bus, options, 'crash-relay');
      assert.equal(await exited, 'SIGKILL');
      const stranded = await probe.query<{ published_at: Date | null }[]>(`SELECT published_at FROM outbox o WHERE o.subject = $1`, [derivedSubject]);
      assert.equal(stranded.length, 1);
      assert.equal(stranded[0]?.published_at, null, 'the row was published but never marked');
      assert.equal((await readStream(bus.jsm, streamName(options, 'events'), derivedSubject)).length, 1);

      // The next relay publishes the row again; JetStream drops the duplicate by Nats-Msg-Id.
      const app = await startLedgerApp({ schema, bus: options, replica: 'survivor' });
      try {
        await eventually(async () => {
          const rows = await probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM outbox WHERE subject = $1 AND published_at IS NULL`, [derivedSubject]);
          return rows[0]?.n === 0 ? true : undefined;
        }, 10_000, 'the stranded row to be republished');
        await eventually(async () => times(probe, 'nodes_seen', 'crash-relay'), 10_000, 'the derived event to be handled');
        assert.equal((await readStream(bus.jsm, streamName(options, 'events'), derivedSubject)).length, 1, 'exactly one copy in the stream');
        assert.equal(await times(probe, 'nodes_seen', 'crash-relay'), 1);
      } finally {
        await closeLedgerApp(app);
      }
    } finally {
      await deleteTestStreams(bus.jsm, options.prefix);
    }
  });
});
