// A ledger service in a process of its own, for tests that kill it at the worst moment:
//   node ledger-process.js <schema> <prefix> <fault>
// fault: kill-after-commit (SIGKILL right after the first transaction commits, before the ack)
//        kill-after-publish (SIGKILL after the relay's publishes are acked, before marking them)
import { busOptions } from '../../src/index.js';
import { attachTestSchema, TEST_NATS_URL, TEST_STREAM_MAX_BYTES } from '../../src/testing/index.js';
import { MIGRATIONS, startLedgerApp } from './test-app.js';

const [schemaName, prefix, fault] = process.argv.slice(2);
if (!schemaName || !prefix || !fault) throw new Error('usage: ledger-process <schema> <prefix> <fault>');

const die = (): void => {
  process.kill(process.pid, 'SIGKILL');
};

await startLedgerApp({
  schema: attachTestSchema(schemaName, MIGRATIONS),
  bus: busOptions({ service: 'ledger', prefix, natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES, ackWaitMs: 1_500, relayPollMs: 200 }),
  replica: 'doomed',
  faults: fault === 'kill-after-commit' ? { consumer: { afterCommit: die } } : { relay: { afterPublish: die } },
});
process.stdout.write('ready\n');
