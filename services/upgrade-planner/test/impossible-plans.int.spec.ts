import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEvent, EventRejected, eventsSubject, streamName, UpgradePlanned, UpgradePlanRequested } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { upgradePlannerService } from '../src/service.js';
import { call, EventLog } from './support.js';

interface Refusal {
  statusCode: number;
  code: string;
  message: string;
  errors: { field: string; code: string; message: string }[];
}

describe('upgrade planner: impossible plan requests get 400 naming the field and are never stored', () => {
  let service: TestService;

  before(async () => {
    service = await startTestService(upgradePlannerService);
  });

  after(async () => {
    await service?.dispose();
    const bus = await BusConnection.open(TEST_NATS_URL, 'upgrade-planner-impossible-test');
    await deleteTestStreams(bus.jsm, service.env['BUS_PREFIX']!);
    await bus.jsm.streams.delete(`KV_${service.env['BUS_PREFIX']!}_support_matrix`).catch(() => false);
    await bus.drain();
  });

  const post = (body: unknown) =>
    call(service, '/api/v1/upgrade-plans', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, 'operator');

  // given a request, when posted, then 400 with this field, policy code and wording
  const table: { name: string; body: Record<string, unknown>; field: string; code: string; message: RegExp }[] = [
    { name: 'unknown target release', body: { fromRelease: '4.3', toRelease: '4.9' }, field: 'toRelease', code: 'release-unknown', message: /"4\.9" is not in support matrix/ },
    { name: 'unknown source release', body: { fromRelease: '2.1', toRelease: '4.3' }, field: 'fromRelease', code: 'release-unknown', message: /"2\.1" is not in support matrix/ },
    { name: 'a downgrade', body: { fromRelease: '4.3', toRelease: '4.1' }, field: 'toRelease', code: 'upgrade-path-downgrade', message: /4\.3 -> 4\.1 is a downgrade/ },
    { name: 'the same release', body: { fromRelease: '4.2', toRelease: '4.2' }, field: 'toRelease', code: 'upgrade-path-same-release', message: /already on 4\.2/ },
    {
      name: 'a Kubernetes version the target release does not support',
      body: { fromRelease: '4.2', toRelease: '4.3', toVersion: '1.35' },
      field: 'toVersion',
      code: 'incompatible',
      message: /1\.35 is not among 4\.3's compatible versions/,
    },
    {
      name: 'a Kubernetes version below what the global upgrade accepts',
      body: { fromRelease: '4.1', toRelease: '4.2', toVersion: '1.30' },
      field: 'toVersion',
      code: 'incompatible',
      message: /1\.30 is below what the upgrade to 4\.2 accepts/,
    },
  ];
  for (const { name, body, field, code, message } of table) {
    it(name, async () => {
      const response = await post({ ...body, maxConcurrency: 5 });
      assert.equal(response.status, 400);
      const refusal = (await response.json()) as Refusal;
      assert.equal(refusal.code, 'plan-impossible');
      assert.deepEqual(refusal.errors.map((e) => [e.field, e.code]), [[field, code]]);
      assert.match(refusal.message, message);
      assert.match(refusal.message, new RegExp(`^${field}: `));
    });
  }

  it('over the bus, an impossible request is dead-lettered with its reason, named in EventRejected, and stored nowhere', async () => {
    const prefix = service.env['BUS_PREFIX']!;
    const bus = await BusConnection.open(TEST_NATS_URL, 'upgrade-planner-impossible-bus-test');
    const rejected = await EventLog.open(bus, prefix, EventRejected);
    const planned = await EventLog.open(bus, prefix, UpgradePlanned);
    try {
      const request = createEvent(UpgradePlanRequested, { subject: 'plan-downgrade', source: '/tests/operator' }, { fromRelease: '4.3', toRelease: '4.1', maxConcurrency: 5 });
      await publishEvent(bus.js, eventsSubject({ prefix }, UpgradePlanRequested.channel), request);
      const refusal = await rejected.waitFor('plan-downgrade');
      assert.equal(refusal.data.rejectedEventId, request.id);
      assert.equal(refusal.data.rejectedType, UpgradePlanRequested.type);
      assert.equal(refusal.data.rejectedSubject, 'plan-downgrade');
      assert.equal(refusal.data.code, 'handler-rejected');
      assert.match(refusal.data.reason, /toRelease: 4\.3 -> 4\.1 is a downgrade/);
      assert.match(refusal.data.reason, /upgrade-path-downgrade/);
      // The message itself is in the dead-letter stream, under the subject the refusal names.
      const dlq = streamName({ prefix }, 'dlq');
      const stored = await eventually(async () => (await bus.jsm.streams.getMessage(dlq, { last_by_subj: refusal.data.deadLetterSubject }).catch(() => undefined)) ?? undefined);
      assert.equal(stored.header?.get('ce-id'), request.id);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(stored.data)), request.data);
      assert.equal((await call(service, '/api/v1/upgrade-plans/plan-downgrade')).status, 404);
      assert.deepEqual(planned.about('plan-downgrade'), [], 'no UpgradePlanned for it');
    } finally {
      await rejected.close();
      await planned.close();
      await bus.drain();
    }
  });

  it('stores none of them, and still plans a route of several global upgrades', async () => {
    const listed = (await (await call(service, '/api/v1/upgrade-plans')).json()) as { items: unknown[] };
    assert.deepEqual(listed.items, []);
    const response = await post({ fromRelease: '3.16', toRelease: '4.3', maxConcurrency: 5 });
    assert.equal(response.status, 201);
    const plan = (await response.json()) as { route: string[]; steps: { type: string; fromRelease?: string }[] };
    assert.deepEqual(plan.route, ['3.16', '3.18', '4.0', '4.3']);
    assert.deepEqual(plan.steps.filter((s) => s.type === 'global-upgrade').map((s) => s.fromRelease), ['3.16', '3.18', '4.0']);
    const after = (await (await call(service, '/api/v1/upgrade-plans')).json()) as { items: unknown[] };
    assert.equal(after.items.length, 1);
  });

  it('plans to a Kubernetes version: kept with the plan, listed and shown in the table', async () => {
    const response = await post({ fromRelease: '4.0', toRelease: '4.3', toVersion: '1.32', maxConcurrency: 5 });
    assert.equal(response.status, 201);
    const plan = (await response.json()) as { id: string; toVersion?: string; route: string[] };
    assert.equal(plan.toVersion, '1.32');
    assert.deepEqual(plan.route, ['4.0', '4.3']);
    const listed = (await (await call(service, '/api/v1/upgrade-plans')).json()) as { items: { id: string; toVersion: string | null }[] };
    assert.equal(listed.items.find((item) => item.id === plan.id)?.toVersion, '1.32');
    const table = await (await call(service, `/api/v1/upgrade-plans/${plan.id}/table`)).text();
    assert.match(table, /Target Kubernetes version: 1\.32/);
  });
});
