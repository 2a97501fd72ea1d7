import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Logger, type LoggerService } from '@nestjs/common';
import { SUPPORT_MATRIX_DOCUMENT, type SupportMatrixDocument } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventually, freePort, TEST_NATS_URL, testBusPrefix } from '@flotilla/messaging/testing';
import { PolicyInForce } from '../src/policy/policy-in-force.js';
import { publishTestPolicy } from '../src/testing/policy.js';
import { OwnNats } from './support/own-nats.js';

/** What PolicyInForce logs, by level. */
class CapturingLogger implements LoggerService {
  readonly lines: { level: string; message: unknown }[] = [];
  log(message: unknown): void {
    this.lines.push({ level: 'log', message });
  }
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message });
  }
  error(message: unknown): void {
    this.lines.push({ level: 'error', message });
  }
  of(level: string): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => (line.message as { msg?: string }).msg ?? String(line.message));
  }
}

describe('the support-matrix watch when the JetStream API does not answer', { timeout: 60_000 }, () => {
  let nats: OwnNats;
  let bus: BusConnection;
  let policy: PolicyInForce;
  const logger = new CapturingLogger();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    Logger.overrideLogger(logger);
    nats = new OwnNats(await freePort());
    await nats.start();
    bus = await BusConnection.open(nats.url, 'policy-watch-test');
    // Then the server again without JetStream: every JetStream request fails (no responders), as
    // requests time out while the API is busy. The connection comes back by itself.
    await nats.stop();
    await nats.start({ jetStream: false });
    await eventually(() => (bus.isConnected ? true : undefined), 15_000, 'reconnected');
  });

  after(async () => {
    policy?.stop();
    await bus?.drain().catch(() => undefined);
    await nats?.stop();
    nats?.cleanUp();
    Logger.overrideLogger(false);
    process.off('unhandledRejection', onUnhandled);
  });

  it('starts with the shipped policy, retries with backoff and says so once, then follows the bucket once it can be read', async () => {
    const prefix = testBusPrefix();
    policy = new PolicyInForce(bus, { naming: { prefix } });
    await policy.onModuleInit();
    assert.equal(policy.current().matrixSource, 'shipped');
    // Attempts at 0, 1 and 3 s: three failures, one warning.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const warnings = logger.of('warn');
    assert.deepEqual(warnings, ['support-matrix bucket cannot be read or watched; the policy in force stays, retrying with backoff'], 'one warning for every failed attempt');

    // JetStream back (same port), and the planner's bucket with a revision of the matrix in it.
    await nats.stop();
    await nats.start();
    const document: SupportMatrixDocument = { ...SUPPORT_MATRIX_DOCUMENT, revision: 'after-the-outage' };
    await publishTestPolicy(prefix, { document }, nats.url);
    await eventually(() => (policy.current().matrix.revision === 'after-the-outage' ? true : undefined), 20_000, 'the revision from the bucket in force');
    assert.equal(policy.current().matrixSource, 'bucket');
    assert.ok(logger.of('log').includes('support-matrix bucket read again after failures'), logger.of('log').join('; '));
    assert.equal(logger.of('warn').length, 1, 'and no other warning');
    assert.deepEqual(unhandled, [], 'nothing thrown where nobody catches it');
  });
});

describe('the support-matrix watch when the history takes longer to replay than a start may wait', () => {
  it('starts with the policy replayed so far, says so, and takes the rest when it comes', async () => {
    const logger = new CapturingLogger();
    Logger.overrideLogger(logger);
    const prefix = testBusPrefix();
    const bus = await BusConnection.open(TEST_NATS_URL, 'policy-patience-test');
    const document: SupportMatrixDocument = { ...SUPPORT_MATRIX_DOCUMENT, revision: 'replayed-late' };
    await publishTestPolicy(prefix, { document }, TEST_NATS_URL);
    // Opening the bucket and replaying it takes several round trips to NATS: far more than 1 ms.
    const policy = new PolicyInForce(bus, { naming: { prefix }, replayPatienceMs: 1 });
    try {
      await policy.onModuleInit();
      assert.equal(policy.current().matrixSource, 'shipped', 'started before the history was replayed');
      assert.deepEqual(logger.of('warn'), ['support-matrix bucket not replayed yet: starting with the policy in force so far; the watch goes on']);
      await eventually(() => (policy.current().matrix.revision === 'replayed-late' ? true : undefined), 10_000, 'the revision of the bucket in force');
    } finally {
      policy.stop();
      Logger.overrideLogger(false);
      await deleteTestStreams(bus.jsm, prefix);
      await bus.drain();
    }
  });
});
