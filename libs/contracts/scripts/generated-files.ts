import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { DEFAULT_SUBJECT_PREFIX, EVENT_CATALOGUE, eventJsonSchema, eventsSubject, type EventDefinition } from '../src/index.js';
import { asyncApiDocument } from './asyncapi.js';
import { readPackageJson } from './paths.js';

/** A file derived from the catalogue; `path` is relative to libs/contracts, with `/`. */
export interface GeneratedFile {
  path: string;
  content: string;
}

export const SCHEMAS_DIR = 'schemas';
export const ASYNCAPI_FILE = 'asyncapi.yaml';
export const README_FILE = 'README.md';
export const README_BEGIN = '<!-- BEGIN GENERATED: event table (npm run generate) -->';
export const README_END = '<!-- END GENERATED: event table -->';

const HEADER = 'Generated from the event catalogue in libs/contracts/src by `npm run generate`. Do not edit.';

export function schemaFilePath(type: string): string {
  return `${SCHEMAS_DIR}/${type}.json`;
}

/** The JSON Schema file of one event; the released baseline is the same schema with its own comment. */
export function renderSchemaFile(definition: EventDefinition, comment: string = HEADER): string {
  const { $schema, $id, ...rest } = eventJsonSchema(definition);
  return `${JSON.stringify({ $schema, $id, $comment: comment, ...rest }, null, 2)}\n`;
}

export function renderAsyncApi(catalogue: readonly EventDefinition[], version: string): string {
  // No anchors/aliases for repeated objects, no line folding: plain, diff-friendly YAML.
  const body = stringify(asyncApiDocument(catalogue, version), { aliasDuplicateObjects: false, lineWidth: 0 });
  return `# ${HEADER}\n${body}`;
}

export function renderEventTable(catalogue: readonly EventDefinition[]): string {
  const naming = { prefix: DEFAULT_SUBJECT_PREFIX };
  const rows = catalogue.map((d) =>
    [
      `[${d.name}](${schemaFilePath(d.type)})`,
      `\`${d.type}\``,
      `\`${eventsSubject(naming, d.channel)}\``,
      d.producers.join(', '),
      d.consumers.join(', '),
      d.description.replaceAll('|', '\\|'),
    ].join(' | '),
  );
  return [
    '| Event | CloudEvents type | Subject | Producers | Consumers | Meaning |',
    '|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

/** Replaces the generated block of the README; the rest of it is written by hand. */
export function renderReadme(readme: string, catalogue: readonly EventDefinition[]): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin) throw new Error(`${README_FILE} must contain the markers ${README_BEGIN} and ${README_END}`);
  return `${readme.slice(0, begin + README_BEGIN.length)}\n${renderEventTable(catalogue)}\n${readme.slice(end)}`;
}

/** Every generated file, rendered in memory from the catalogue (and the hand-written README parts). */
export function renderGeneratedFiles(root: string, catalogue: readonly EventDefinition[] = EVENT_CATALOGUE): GeneratedFile[] {
  const version = readPackageJson(root).version ?? '0.0.0';
  return [
    ...catalogue.map((definition) => ({ path: schemaFilePath(definition.type), content: renderSchemaFile(definition) })),
    { path: ASYNCAPI_FILE, content: renderAsyncApi(catalogue, version) },
    { path: README_FILE, content: renderReadme(readFileSync(join(root, README_FILE), 'utf8'), catalogue) },
  ];
}

/** Files under schemas/ that no event generates any more (a removed or renamed event). */
export function orphanSchemaFiles(root: string, files: readonly GeneratedFile[]): string[] {
  const dir = join(root, SCHEMAS_DIR);
  if (!existsSync(dir)) return [];
  const generated = new Set(files.map((file) => file.path));
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => `${SCHEMAS_DIR}/${name}`)
    .filter((path) => !generated.has(path))
    .sort();
}

export interface StaleFile {
  path: string;
  problem: 'missing' | 'differs' | 'orphan';
}

/** Which committed files do not match what the catalogue generates. */
export function findStaleFiles(root: string, files: readonly GeneratedFile[]): StaleFile[] {
  const stale: StaleFile[] = [];
  for (const file of files) {
    const target = join(root, file.path);
    if (!existsSync(target)) stale.push({ path: file.path, problem: 'missing' });
    else if (readFileSync(target, 'utf8') !== file.content) stale.push({ path: file.path, problem: 'differs' });
  }
  for (const path of orphanSchemaFiles(root, files)) stale.push({ path, problem: 'orphan' });
  return stale;
}

/** Writes what changed and deletes orphans; returns the paths touched. */
export function writeGeneratedFiles(root: string, files: readonly GeneratedFile[]): string[] {
  const touched: string[] = [];
  for (const { path, problem } of findStaleFiles(root, files)) {
    const target = join(root, path);
    if (problem === 'orphan') {
      rmSync(target);
    } else {
      const file = files.find((candidate) => candidate.path === path);
      if (!file) continue;
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.content);
    }
    touched.push(path);
  }
  return touched;
}
