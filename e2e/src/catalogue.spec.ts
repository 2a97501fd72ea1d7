// The catalogue in libs/contracts says who produces and consumes each event, and the NATS
// permissions are generated from it: here it is held to what the five services' code does.
// Handlers are read from the decorator metadata of the controllers each service's module
// registers; emitted events from the services' sources (UnitOfWork.emit also refuses at run
// time what the catalogue does not let a service produce).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { consumedBy, EVENT_CATALOGUE, EventRejected, producedBy, SERVICES, WHOLE_BUS_CONSUMERS, type ServiceName } from '@flotilla/contracts';
import { ALL_EVENTS } from '@flotilla/messaging';
import { importerService } from '@flotilla/importer/dist/src/service.js';
import { inventoryService } from '@flotilla/inventory/dist/src/service.js';
import { provisionerService } from '@flotilla/provisioner/dist/src/service.js';
import { loadConfig, type ServiceDefinition } from '@flotilla/service-kit';
import { tunnelBrokerService } from '@flotilla/tunnel-broker/dist/src/service.js';
import { upgradePlannerService } from '@flotilla/upgrade-planner/dist/src/service.js';
import type { DynamicModule, Type } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants.js';
import { PATTERN_METADATA } from '@nestjs/microservices/constants.js';
import type { z } from 'zod';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const definitions: ServiceDefinition<z.ZodObject>[] = [inventoryService, provisionerService, importerService, upgradePlannerService, tunnelBrokerService];
const names = new Set<string>(EVENT_CATALOGUE.map((definition) => definition.name));
const byChannel = new Map(EVENT_CATALOGUE.map((definition) => [definition.channel, definition.name]));

type ModuleLike = DynamicModule | Type | undefined;

/** The controllers of a module and of every module it imports, static or dynamic. */
function controllersOf(module: ModuleLike, seen = new Set<unknown>()): Type[] {
  if (!module || seen.has(module)) return [];
  seen.add(module);
  const dynamic = 'module' in module ? module : undefined;
  const type = dynamic ? dynamic.module : (module as Type);
  const read = (key: string): unknown[] => (Reflect.getMetadata(key, type) as unknown[] | undefined) ?? [];
  const imports = [...read(MODULE_METADATA.IMPORTS), ...(dynamic?.imports ?? [])] as ModuleLike[];
  return [...(read(MODULE_METADATA.CONTROLLERS) as Type[]), ...(dynamic?.controllers ?? []), ...imports.flatMap((imported) => controllersOf(imported, seen))];
}

/** Every `@EventPattern` (`@OnEvent`, `@OnEventBatch`, `@OnAnyEvent`) of the controllers. */
function handledPatterns(controllers: readonly Type[]): string[] {
  return controllers.flatMap((controller) => {
    const prototype = controller.prototype as Record<string, unknown>;
    return Object.getOwnPropertyNames(prototype).flatMap((key) => {
      const method = Object.getOwnPropertyDescriptor(prototype, key)?.value as object | undefined;
      return typeof method === 'function' ? ((Reflect.getMetadata(PATTERN_METADATA, method) as unknown[] | undefined) ?? []).map(String) : [];
    });
  });
}

/**
 * Catalogue events a source emits: `*.emit(Definition, ...)`, and where it emits a definition it
 * was handed (`emit(definition, ...)`), the definitions passed as arguments in that file
 * (`this.command(id, NodePoolScaleRequested, ...)`), not counting `@OnEvent(...)` decorators; and
 * in a file writing events with a state change (`writeWithEvents`), each `definition: Definition`.
 */
export function emittedEvents(source: string): Set<string> {
  const found = new Set<string>();
  for (const [, name] of source.matchAll(/\.emit\(\s*([A-Za-z_$][\w$]*)\s*,/g)) {
    if (names.has(name!)) found.add(name!);
  }
  if ([...source.matchAll(/\.emit\(\s*([a-z_$][\w$]*)\s*,/g)].length > 0) {
    for (const [, name] of source.matchAll(/(?:(?<!@OnEvent(?:Batch)?)\(|,)\s*([A-Z][\w$]*)\s*(?=[,)])/g)) {
      if (names.has(name!)) found.add(name!);
    }
  }
  if (source.includes('.writeWithEvents(')) {
    for (const [, name] of source.matchAll(/\bdefinition:\s*([A-Z][\w$]*)\b/g)) {
      if (names.has(name!)) found.add(name!);
    }
  }
  return found;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** What is wrong between a service's code and the catalogue, one line each. */
export function catalogueMismatches(service: ServiceName, patterns: readonly string[], emitted: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const consumes = new Set<string>(consumedBy(service).map((definition) => definition.name));
  const produces = new Set<string>(producedBy(service).map((definition) => definition.name));
  const wholeBus = WHOLE_BUS_CONSUMERS.includes(service);
  const handled = new Set<string>();
  for (const pattern of patterns) {
    if (pattern === ALL_EVENTS) {
      if (!wholeBus) problems.push(`${service} handles every event (@OnAnyEvent) but is not in WHOLE_BUS_CONSUMERS`);
      for (const name of names) handled.add(name);
      continue;
    }
    const name = byChannel.get(pattern);
    if (name === undefined) problems.push(`${service} handles '${pattern}', which is no event of the catalogue`);
    else handled.add(name);
  }
  if (wholeBus && !patterns.includes(ALL_EVENTS)) problems.push(`${service} is in WHOLE_BUS_CONSUMERS but has no @OnAnyEvent handler`);
  for (const name of handled) if (!consumes.has(name)) problems.push(`${service} handles ${name} but is not among its consumers`);
  for (const name of consumes) if (!handled.has(name)) problems.push(`${service} is among the consumers of ${name} but has no handler for it`);
  for (const name of emitted) if (!produces.has(name)) problems.push(`${service} emits ${name} but is not among its producers`);
  // EventRejected is emitted by the dead-letter runtime, not by the service's own code.
  for (const name of produces) if (name !== EventRejected.name && !emitted.has(name)) problems.push(`${service} is among the producers of ${name} but never emits it`);
  return problems;
}

describe('the event catalogue against the services', () => {
  it('covers the five services', () => {
    assert.deepEqual(definitions.map((definition) => definition.name).sort(), [...SERVICES].sort());
  });

  for (const definition of definitions) {
    it(`${definition.name}: handles exactly the events it consumes and emits exactly the ones it produces`, () => {
      // Only building the module's description: nothing connects.
      const config = loadConfig(definition.config, { SECRETS_KEYS: `k1:${Buffer.alloc(32).toString('base64')}` });
      const patterns = handledPatterns(controllersOf(definition.module(config)));
      assert.ok(patterns.length > 0, `${definition.name} has event handlers`);
      const emitted = new Set(sources(join(root, 'services', definition.name, 'src')).flatMap((file) => [...emittedEvents(readFileSync(file, 'utf8'))]));
      assert.deepEqual(catalogueMismatches(definition.name, patterns, emitted), []);
    });
  }
});

describe('the catalogue checks themselves', () => {
  it('find emitted definitions, directly or handed to a method that emits them, but not handled ones', () => {
    const direct = `@OnEvent(ClusterRequested) on() { this.unitOfWork.emit(ClusterReady, id, data); }`;
    assert.deepEqual([...emittedEvents(direct)], ['ClusterReady']);
    const forwarded = [
      `@OnEvent(ClusterDeleted) onDeleted() {}`,
      `scale() { return this.command(id, NodePoolScaleRequested, body); }`,
      `command(id, definition, data) { return this.unitOfWork.emit(definition, id, data); }`,
      `find() { return this.clusters.hasEvent(id, ClusterDeletionRequested.type); }`,
    ].join('\n');
    assert.deepEqual([...emittedEvents(forwarded)], ['NodePoolScaleRequested']);
    const written = [
      `step() { return this.unitOfWork.writeWithEvents([this.eventOf(id, event)], (rows) => this.clusters.save(id, rows)); }`,
      `eventOf(id, event) { return { definition: ClusterReady, subject: id, data: event.data }; }`,
    ].join('\n');
    assert.deepEqual([...emittedEvents(written)], ['ClusterReady']);
  });

  it('name a handler or an emit the catalogue does not declare, and a declaration the code does not bear out', () => {
    const planner = consumedBy('upgrade-planner').map((definition) => definition.channel);
    const produced = new Set(producedBy('upgrade-planner').map((definition) => definition.name));
    assert.deepEqual(catalogueMismatches('upgrade-planner', planner, produced), []);
    assert.deepEqual(catalogueMismatches('upgrade-planner', [...planner, 'cluster.provisioning-failed.v1'], new Set([...produced, 'ClusterReady'])), [
      'upgrade-planner handles ClusterProvisioningFailed but is not among its consumers',
      'upgrade-planner emits ClusterReady but is not among its producers',
    ]);
    assert.deepEqual(catalogueMismatches('upgrade-planner', planner.slice(1), new Set()), [
      `upgrade-planner is among the consumers of ${consumedBy('upgrade-planner')[0]!.name} but has no handler for it`,
      'upgrade-planner is among the producers of UpgradePlanned but never emits it',
    ]);
    assert.deepEqual(catalogueMismatches('provisioner', [ALL_EVENTS], new Set()).slice(0, 1), ['provisioner handles every event (@OnAnyEvent) but is not in WHOLE_BUS_CONSUMERS']);
  });
});
