/*
 * Bad events, generated: every event type of the catalogue gets truncated JSON, invalid UTF-8,
 * data of the wrong type, bad attributes, unknown versions, deep nesting, prototype keys and
 * oversized payloads on its subject, read by every service that consumes it (the five services
 * in this process, one bus prefix). Each consumer dead-letters each with a reason, handles none,
 * and stays ready; forged sources and reused ids are refused too, and good events afterwards are
 * still handled. FUZZ_RUNS (cases per type) and FUZZ_SEED reproduce or widen a run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { attributeHeaders, ClusterDeleted, ClusterRequested, createEvent, DEFAULT_MAX_EVENT_BYTES, EVENT_CATALOGUE, eventsSubject, isService, serviceSource, type CloudEvent, type EventDefinition, type ServiceName } from '@flotilla/contracts';
import { importerService } from '@flotilla/importer/dist/src/service.js';
import { inventoryService } from '@flotilla/inventory/dist/src/service.js';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, testBusPrefix, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { provisionerService } from '@flotilla/provisioner/dist/src/service.js';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { tunnelBrokerService } from '@flotilla/tunnel-broker/dist/src/service.js';
import { upgradePlannerService } from '@flotilla/upgrade-planner/dist/src/service.js';
import { headers as createHeaders } from '@nats-io/transport-node';
import fc from 'fast-check';
import { consumersOf, DeadLetterReader, handledIds, isReady } from './support/fuzz-bus.js';
import { badMessages, forgedSources, FUZZ_RUNS, fuzzSubject, oversized, type BadMessage } from './support/fuzz-events.js';

const RUNS_PER_TYPE = FUZZ_RUNS || 12;
const SEED = Number(process.env['FUZZ_SEED'] ?? '') || Date.now() % 2 ** 31;
const DEAD_LETTER_WAIT_MS = 120_000;

interface Published {
  definition: EventDefinition;
  bad: BadMessage;
  sequence: number;
}

describe('bad events, generated, against every consumer', () => {
  const prefix = testBusPrefix();
  const services = new Map<ServiceName, TestService>();
  let bus: BusConnection;
  let letters: DeadLetterReader;

  before(async () => {
    // The planner first: it makes the policy bucket the others read.
    // Quiet: every bad event is logged as dead-lettered, which is the point.
    const env = { BUS_PREFIX: prefix, LOG_LEVEL: 'error' };
    services.set('upgrade-planner', await startTestService(upgradePlannerService, { ...env, PLATFORM_RELEASE: '4.3' }));
    services.set('inventory', await startTestService(inventoryService, env));
    services.set('provisioner', await startTestService(provisionerService, { ...env, SIM_BOOT_MS: '50' }));
    services.set('importer', await startTestService(importerService, env));
    services.set('tunnel-broker', await startTestService(tunnelBrokerService, env));
    bus = await BusConnection.open(TEST_NATS_URL, 'fuzz-events-test');
    letters = new DeadLetterReader(bus, prefix);
  });

  after(async () => {
    for (const service of [...services.values()].reverse()) await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const publishRaw = async (definition: EventDefinition, headers: Record<string, string>, payload: Uint8Array): Promise<number> => {
    const ack = await bus.js.publish(eventsSubject({ prefix }, definition.channel), payload, { headers: natsHeaders(headers) });
    return ack.seq;
  };

  /** Waits for a dead letter of each message at each of its type's consumers; returns how many. */
  const expectDeadLettered = async (published: readonly Published[]): Promise<number> => {
    const expected = published.flatMap((entry) => consumersOf(entry.definition).map((consumer) => ({ ...entry, consumer, key: DeadLetterReader.key(consumer, entry.sequence) })));
    const found = await eventually(
      async () => {
        const seen = await letters.read();
        return expected.every((entry) => seen.has(entry.key)) ? seen : undefined;
      },
      DEAD_LETTER_WAIT_MS,
      `a dead letter of each of ${expected.length}`,
    ).catch(async (error: unknown) => {
      const seen = await letters.read();
      const missing = expected.filter((entry) => !seen.has(entry.key)).slice(0, 5);
      throw new Error(`${(error as Error).message}; missing e.g. ${missing.map((m) => `${m.definition.name} ${m.bad.kind} at ${m.consumer}`).join('; ')}`);
    });
    for (const { definition, bad, consumer, key } of expected) {
      const letter = found.get(key)!;
      const where = `${definition.name}, ${bad.kind}, at ${consumer}`;
      assert.ok(bad.codes.includes(letter.code as never), `${where}: code ${letter.code} (${letter.reason}), expected one of ${bad.codes.join(', ')}`);
      assert.ok(letter.reason.length > 0, `${where}: a reason`);
    }
    return expected.length;
  };

  const assertNoneHandled = async (ids: readonly string[]) => {
    for (const [name, service] of services) assert.deepEqual(await handledIds(service, ids.filter(Boolean)), [], `${name} handled none of the bad events`);
  };

  const assertAllReady = async () => {
    for (const [name, service] of services) assert.ok(await isReady(service), `${name} is ready`);
  };

  it('dead-letters every generated bad event at every consumer of its type, with a reason, and handles none', async () => {
    const published: Published[] = [];
    for (const [index, definition] of EVENT_CATALOGUE.entries()) {
      const cases = fc.sample(badMessages(definition), { numRuns: RUNS_PER_TYPE, seed: SEED + index });
      cases.push(oversized(definition, DEFAULT_MAX_EVENT_BYTES + (index % 7) * 997));
      for (const bad of cases) published.push({ definition, bad, sequence: await publishRaw(definition, bad.headers, bad.payload) });
      // Dead letters carry what they refuse (oversized ones too): read them as they come, before the
      // dead-letter stream's byte limit drops the oldest of a run this size.
      await letters.read();
    }
    const checked = await expectDeadLettered(published);
    await assertNoneHandled(published.map((entry) => entry.bad.id));
    await assertAllReady();
    assert.equal(({} as Record<string, unknown>)['model'], undefined, 'no prototype was polluted');
    const kinds = new Set(published.map((entry) => entry.bad.kind));
    console.log(`fuzz-events: ${published.length} bad events over ${EVENT_CATALOGUE.length} types (${kinds.size} kinds), ${checked} dead letters checked, seed ${SEED}`);
  });

  it('dead-letters forged sources and reused ids at every consumer, and still handles good events afterwards', async () => {
    // Two types that between them reach every service, and whose data needs no state to be valid.
    const goods: [EventDefinition, unknown, ServiceName][] = [
      [ClusterRequested, { name: 'fuzz', model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 1, machineSize: 'small' }, nodePools: [], network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' } }, 'inventory'],
      [ClusterDeleted, { model: 'connected' }, 'importer'],
    ];
    const good = (definition: EventDefinition, data: unknown, producer: ServiceName, subject = fuzzSubject()) =>
      createEvent(definition, { subject, source: serviceSource(producer) }, data as never) as CloudEvent;
    const handledEverywhere = async (definition: EventDefinition, event: CloudEvent) => {
      const consumers = definition.consumers.filter(isService);
      await eventually(
        async () => {
          for (const service of consumers) if ((await handledIds(services.get(service)!, [event.id])).length === 0) return undefined;
          return true;
        },
        30_000,
        `${definition.name} ${event.id} handled by ${consumers.join(', ')}`,
      );
    };

    const published: Published[] = [];
    const firsts: CloudEvent[] = [];
    for (const [definition, data, producer] of goods) {
      const first = good(definition, data, producer);
      await publishEvent(bus.js, eventsSubject({ prefix }, definition.channel), first);
      await handledEverywhere(definition, first);
      firsts.push(first);
      for (const source of forgedSources(definition)) {
        const forged = { ...good(definition, data, producer), source };
        const bad: BadMessage = { kind: `forged source ${source}`, headers: attributeHeadersWithId(forged), payload: new TextEncoder().encode(JSON.stringify(forged.data)), codes: ['schema-invalid'], id: forged.id };
        published.push({ definition, bad, sequence: await publishRaw(definition, bad.headers, bad.payload) });
      }
      // The same id with another subject: another event claiming a handled one's id.
      const reused = good(definition, data, producer);
      const conflict = { ...reused, id: first.id };
      const bad: BadMessage = { kind: 'reused id', headers: attributeHeaders(conflict), payload: new TextEncoder().encode(JSON.stringify(conflict.data)), codes: ['id-conflict'], id: '' };
      published.push({ definition, bad, sequence: await publishRaw(definition, bad.headers, bad.payload) });
    }
    const checked = await expectDeadLettered(published);
    await assertNoneHandled(published.map((entry) => entry.bad.id));

    for (const [definition, data, producer] of goods) {
      const afterwards = good(definition, data, producer);
      await publishEvent(bus.js, eventsSubject({ prefix }, definition.channel), afterwards);
      await handledEverywhere(definition, afterwards);
    }
    await assertAllReady();
    console.log(`fuzz-events: ${published.length} forged-source and reused-id events, ${checked} dead letters checked, ${goods.length * 2} good events handled by every consumer`);
  });
});

/** The binary headers of an event, its id also JetStream's de-duplication id. */
function attributeHeadersWithId(event: CloudEvent): Record<string, string> {
  return { ...attributeHeaders(event), 'Nats-Msg-Id': event.id };
}

function natsHeaders(values: Record<string, string>) {
  const headers = createHeaders();
  for (const [key, value] of Object.entries(values)) headers.set(key, value);
  return headers;
}
