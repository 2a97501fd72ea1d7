import { serializeSupportMatrix, SUPPORT_MATRIX_BUCKET_KEYS, supportMatrixBucketName, type SupportMatrixDocument } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { testBusPrefix, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { Kvm } from '@nats-io/kv';

/** What a test puts in force: the platform release of the global cluster and/or a matrix revision. */
export interface TestPolicy {
  release?: string;
  document?: SupportMatrixDocument;
}

/**
 * Writes a policy to the support-matrix bucket of a bus prefix, as the upgrade planner would
 * (creating the bucket when missing), so a service under test judges by it without a planner.
 */
export async function publishTestPolicy(prefix: string, policy: TestPolicy, natsUrl = TEST_NATS_URL): Promise<void> {
  const bus = await BusConnection.open(natsUrl, 'test-policy');
  try {
    const kv = await new Kvm(bus.nc).create(supportMatrixBucketName({ prefix }), { history: 20 });
    if (policy.document) await kv.put(SUPPORT_MATRIX_BUCKET_KEYS.matrix, serializeSupportMatrix(policy.document));
    if (policy.release) await kv.put(SUPPORT_MATRIX_BUCKET_KEYS.platformRelease, JSON.stringify({ release: policy.release }));
  } finally {
    await bus.drain();
  }
}

/** A fresh bus prefix whose bucket holds the policy: pass the result as (part of) a test service's env. */
export async function testPolicyEnv(policy: TestPolicy, natsUrl = TEST_NATS_URL): Promise<{ BUS_PREFIX: string }> {
  const prefix = testBusPrefix();
  await publishTestPolicy(prefix, policy, natsUrl);
  return { BUS_PREFIX: prefix };
}
