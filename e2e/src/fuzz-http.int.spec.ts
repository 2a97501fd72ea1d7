/*
 * Bad HTTP requests, generated: every operation of the OpenAPI document with a JSON body gets
 * truncated JSON, fields of the wrong type, oversized strings and bodies, wrong content types,
 * invalid UTF-8, deep nesting and prototype keys, with an admin token (so access is not what
 * refuses); every validated query parameter gets values its schema refuses. Each answer is a 4xx
 * (400 naming the field at fault, 413 for an oversized body, 415 for a content type that is not
 * JSON), never a 5xx, and every service stays ready. FUZZ_RUNS and FUZZ_SEED widen or reproduce.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { importerService } from '@flotilla/importer/dist/src/service.js';
import { inventoryService } from '@flotilla/inventory/dist/src/service.js';
import { testBusPrefix } from '@flotilla/messaging/testing';
import { provisionerService } from '@flotilla/provisioner/dist/src/service.js';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { tunnelBrokerService } from '@flotilla/tunnel-broker/dist/src/service.js';
import { upgradePlannerService } from '@flotilla/upgrade-planner/dist/src/service.js';
import fc from 'fast-check';
import { isReady } from './support/fuzz-bus.js';
import { badBodies, oversizedBody, type BadBody } from './support/fuzz-bodies.js';
import { FUZZ_RUNS } from './support/fuzz-events.js';
import { badQueryValue, bodyOperations, queryOperations, samplePath } from './support/fuzz-operations.js';

const RUNS_PER_OPERATION = FUZZ_RUNS || 40;
const RUNS_PER_PARAMETER = Math.max(1, Math.round((FUZZ_RUNS || 40) / 8));
const SEED = Number(process.env['FUZZ_SEED'] ?? '') || Date.now() % 2 ** 31;

interface Answer {
  status: number;
  body: string;
}

/** The fields a 400 names, if it names any. */
function fieldsOf(answer: Answer): string[] {
  try {
    const parsed = JSON.parse(answer.body) as { errors?: { field?: unknown }[] };
    return (parsed.errors ?? []).map((problem) => String(problem.field));
  } catch {
    return [];
  }
}

/** One failure of each operation and kind (the text before the first colon), so a report stays readable. */
function firstOfEachKind(failures: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const failure of failures) {
    const kind = failure.slice(0, failure.indexOf(':'));
    if (!seen.has(kind)) seen.set(kind, failure);
  }
  return [...seen.values()];
}

/** A field named by the answer is the one at fault, or holds it, or lies within it. */
const namesField = (fields: readonly string[], field: string) => fields.some((named) => named === field || field.startsWith(`${named}.`) || named.startsWith(`${field}.`));

describe('bad HTTP requests, generated, against every service', () => {
  const prefix = testBusPrefix();
  const services = new Map<string, TestService>();

  before(async () => {
    const quiet = { BUS_PREFIX: prefix, LOG_LEVEL: 'error' };
    services.set('upgrade-planner', await startTestService(upgradePlannerService, { ...quiet, PLATFORM_RELEASE: '4.3' }));
    services.set('inventory', await startTestService(inventoryService, quiet));
    services.set('provisioner', await startTestService(provisionerService, quiet));
    services.set('importer', await startTestService(importerService, quiet));
    services.set('tunnel-broker', await startTestService(tunnelBrokerService, quiet));
  });

  after(async () => {
    for (const service of [...services.values()].reverse()) await service.dispose();
  });

  const serviceOf = (name: string): TestService => {
    const service = services.get(name);
    assert.ok(service, `the document names service ${name}`);
    return service;
  };

  const send = async (service: TestService, method: string, path: string, bad?: BadBody): Promise<Answer> => {
    const headers: Record<string, string> = { ...(await service.auth('admin')) };
    if (bad) headers['content-type'] = bad.contentType;
    const response = await fetch(`${service.url}${path}`, { method, headers, ...(bad ? { body: bad.body } : {}) });
    return { status: response.status, body: await response.text() };
  };

  const assertAllReady = async () => {
    for (const [name, service] of services) assert.ok(await isReady(service), `${name} is ready`);
  };

  it('answers every generated bad body with the right 4xx, naming the field at fault, and never a 5xx', async () => {
    const operations = bodyOperations();
    const failures: string[] = [];
    let cases = 0;
    for (const [index, operation] of operations.entries()) {
      const service = serviceOf(operation.service);
      const path = samplePath(operation.path);
      const bads = fc.sample(badBodies(operation), { numRuns: RUNS_PER_OPERATION, seed: SEED + index });
      bads.push(oversizedBody(operation));
      for (const bad of bads) {
        cases++;
        const answer = await send(service, operation.method, path, bad);
        const where = `${operation.method} ${operation.path}, ${bad.kind}`;
        const expected = bad.status === 'not 5xx' ? answer.status < 500 : bad.status === '4xx' ? answer.status >= 400 && answer.status < 500 : answer.status === bad.status;
        if (!expected) {
          failures.push(`${where}: ${answer.status}, expected ${bad.status}: ${answer.body.slice(0, 300)}`);
        } else if (bad.field !== undefined && !namesField(fieldsOf(answer), bad.field)) {
          failures.push(`${where}: the 400 names ${JSON.stringify(fieldsOf(answer))}, not ${bad.field}: ${answer.body.slice(0, 300)}`);
        }
      }
    }
    assert.deepEqual(firstOfEachKind(failures), [], `${failures.length} of ${cases} bad bodies got the wrong answer (seed ${SEED})`);
    await assertAllReady();
    console.log(`fuzz-http: ${cases} bad bodies over ${operations.length} operations, seed ${SEED}`);
  });

  it('answers every generated bad query parameter with a 400 naming it, and never a 5xx', async () => {
    const operations = queryOperations();
    const failures: string[] = [];
    let cases = 0;
    for (const [index, operation] of operations.entries()) {
      const service = serviceOf(operation.service);
      for (const parameter of operation.parameters) {
        for (const value of fc.sample(badQueryValue(parameter), { numRuns: RUNS_PER_PARAMETER, seed: SEED + index })) {
          cases++;
          const answer = await send(service, 'GET', `${operation.path}?${new URLSearchParams({ [parameter.name]: value }).toString()}`);
          const where = `GET ${operation.path}?${parameter.name}=${JSON.stringify(value)}`;
          if (answer.status !== 400) failures.push(`${where}: ${answer.status}, expected 400: ${answer.body.slice(0, 300)}`);
          else if (!namesField(fieldsOf(answer), parameter.name)) failures.push(`${where}: the 400 names ${JSON.stringify(fieldsOf(answer))}`);
        }
      }
    }
    assert.deepEqual(firstOfEachKind(failures), [], `${failures.length} of ${cases} bad query parameters got the wrong answer (seed ${SEED})`);
    await assertAllReady();
    console.log(`fuzz-http: ${cases} bad query parameters over ${operations.length} operations, seed ${SEED}`);
  });
});
