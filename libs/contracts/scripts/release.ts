import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareSchemas, EVENT_CATALOGUE, eventJsonSchema, type CompatBreak, type EventDefinition, type JsonSchema } from '../src/index.js';
import { renderSchemaFile } from './generated-files.js';

/**
 * The released baseline: the schema of every event type as last released, one file per type.
 * A change to a released type must stay compatible with it (see src/compat/schema-compat.ts);
 * an incompatible change needs a new event version, which is a new type.
 */
export const RELEASED_DIR = 'compat/released';

const RELEASED_COMMENT =
  'Released schema: the compatibility baseline for this event type. Written by `npm run generate -- --release`; do not edit by hand.';

export function releasedFilePath(type: string): string {
  return `${RELEASED_DIR}/${type}.json`;
}

/** Released schemas by CloudEvents type. */
export function loadReleased(root: string): Map<string, JsonSchema> {
  const dir = join(root, RELEASED_DIR);
  const released = new Map<string, JsonSchema>();
  if (!existsSync(dir)) return released;
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.json')).sort()) {
    released.set(name.slice(0, -'.json'.length), JSON.parse(readFileSync(join(dir, name), 'utf8')) as JsonSchema);
  }
  return released;
}

export interface IncompatibleType {
  type: string;
  breaks: CompatBreak[];
}

export interface ReleaseCheck {
  /** Released types whose current schema breaks the released one. */
  incompatible: IncompatibleType[];
  /** Released types the catalogue no longer has: their publishers and consumers still exist. */
  withdrawn: string[];
  /** Catalogue types not released yet. */
  unreleased: string[];
  /** Released types whose schema changed compatibly (the baseline can move forward). */
  changed: string[];
}

/** Compares the catalogue with the released baseline. */
export function checkAgainstReleased(released: ReadonlyMap<string, JsonSchema>, catalogue: readonly EventDefinition[] = EVENT_CATALOGUE): ReleaseCheck {
  const result: ReleaseCheck = { incompatible: [], withdrawn: [], unreleased: [], changed: [] };
  const current = new Set(catalogue.map((definition) => definition.type));
  for (const definition of catalogue) {
    const baseline = released.get(definition.type);
    if (baseline === undefined) {
      result.unreleased.push(definition.type);
      continue;
    }
    const candidate = eventJsonSchema(definition);
    const breaks = compareSchemas(baseline, candidate);
    if (breaks.length > 0) result.incompatible.push({ type: definition.type, breaks });
    else if (!sameSchema(baseline, candidate)) result.changed.push(definition.type);
  }
  for (const type of released.keys()) if (!current.has(type)) result.withdrawn.push(type);
  return result;
}

export interface ReleaseOutcome {
  check: ReleaseCheck;
  /** Baseline files written; empty when the release was refused. */
  written: string[];
}

/**
 * Adds new types to the baseline and moves compatibly changed ones forward. Writes nothing when
 * any released type changed incompatibly or was withdrawn: a release is all or nothing.
 */
export function release(root: string, catalogue: readonly EventDefinition[] = EVENT_CATALOGUE): ReleaseOutcome {
  const check = checkAgainstReleased(loadReleased(root), catalogue);
  if (check.incompatible.length > 0 || check.withdrawn.length > 0) return { check, written: [] };
  const toWrite = new Set([...check.unreleased, ...check.changed]);
  const written: string[] = [];
  mkdirSync(join(root, RELEASED_DIR), { recursive: true });
  for (const definition of catalogue) {
    if (!toWrite.has(definition.type)) continue;
    const path = releasedFilePath(definition.type);
    writeFileSync(join(root, path), renderSchemaFile(definition, RELEASED_COMMENT));
    written.push(path);
  }
  return { check, written };
}

/** Equal up to annotations the checker ignores ($comment), compared as data. */
function sameSchema(released: JsonSchema, candidate: JsonSchema): boolean {
  const strip = (schema: JsonSchema): unknown => {
    if (typeof schema === 'boolean') return schema;
    const { $comment: _comment, ...rest } = schema;
    return rest;
  };
  return canonical(strip(released)) === canonical(strip(candidate));
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'object' && item !== null && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
