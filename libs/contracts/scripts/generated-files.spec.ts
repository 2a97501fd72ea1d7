import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_SUBJECT_PREFIX, EVENT_CATALOGUE, eventsSubject } from '../src/index.js';
import { messageId } from './asyncapi.js';
import { findStaleFiles, README_BEGIN, README_END, renderGeneratedFiles, renderReadme, schemaFilePath } from './generated-files.js';
import { findPackageRoot } from './paths.js';

const root = findPackageRoot();
const files = renderGeneratedFiles(root);
const contentOf = (path: string): string => {
  const file = files.find((candidate) => candidate.path === path);
  assert.ok(file, `${path} is not generated`);
  return file.content;
};

describe('generated files', () => {
  it('are committed up to date with the catalogue (run `npm run generate` when this fails)', () => {
    const stale = findStaleFiles(root, files);
    assert.deepEqual(
      stale.map(({ path, problem }) => `${path} (${problem})`),
      [],
      'stale generated files: run `npm run generate` and commit the result',
    );
  });

  it('render identically twice', () => {
    assert.deepEqual(renderGeneratedFiles(root), files);
  });

  it('include one JSON Schema per event, with $id, title, description and a fixed type', () => {
    for (const definition of EVENT_CATALOGUE) {
      const schema = JSON.parse(contentOf(schemaFilePath(definition.type))) as {
        $schema: string;
        $id: string;
        title: string;
        description: string;
        properties: { type: { const: string }; data: unknown };
        required: string[];
      };
      assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
      assert.match(schema.$id, new RegExp(`/${definition.type.replaceAll('.', '\\.')}\\.json$`));
      assert.equal(schema.title, definition.name);
      assert.equal(schema.description, definition.description);
      assert.equal(schema.properties.type.const, definition.type);
      assert.deepEqual(schema.required, ['specversion', 'id', 'source', 'type', 'subject', 'time', 'data']);
    }
  });
});

describe('README event table', () => {
  it('lists every event between the markers and keeps the hand-written text', () => {
    const rendered = renderReadme(`intro\n${README_BEGIN}\nold table\n${README_END}\noutro\n`, EVENT_CATALOGUE);
    assert.ok(rendered.startsWith(`intro\n${README_BEGIN}\n| Event |`));
    assert.ok(rendered.endsWith(`|\n${README_END}\noutro\n`));
    assert.ok(!rendered.includes('old table'));
    for (const definition of EVENT_CATALOGUE) assert.ok(rendered.includes(`\`${definition.type}\``), definition.type);
  });

  it('refuses a README without markers', () => {
    assert.throws(() => renderReadme('no markers here', EVENT_CATALOGUE), /must contain the markers/);
  });
});

describe('asyncapi.yaml', () => {
  type Ref = { $ref: string };
  interface Document {
    asyncapi: string;
    servers: Record<string, { protocol: string }>;
    channels: Record<string, { address: string; messages: Record<string, Ref> }>;
    operations: Record<string, { action: 'send' | 'receive'; channel: Ref; messages: Ref[] }>;
    components: { messages: Record<string, { headers: { properties: Record<string, { const?: string }>; required: string[] }; payload: unknown }> };
  }
  const document = parse(contentOf('asyncapi.yaml')) as Document;

  it('is AsyncAPI 3.0.0 over NATS', () => {
    assert.equal(document.asyncapi, '3.0.0');
    assert.equal(document.servers['nats']?.protocol, 'nats');
  });

  it('has a channel per event at its default subject, with binary-mode headers', () => {
    for (const definition of EVENT_CATALOGUE) {
      const id = messageId(definition);
      assert.equal(document.channels[id]?.address, eventsSubject({ prefix: DEFAULT_SUBJECT_PREFIX }, definition.channel));
      const message = document.components.messages[id];
      assert.ok(message, id);
      assert.equal(message.headers.properties['ce-type']?.const, definition.type);
      for (const header of ['ce-specversion', 'ce-id', 'ce-source', 'ce-type', 'ce-subject', 'ce-time', 'Nats-Msg-Id']) {
        assert.ok(message.headers.required.includes(header), `${id} requires ${header}`);
      }
      for (const header of ['content-type', 'traceparent', 'tracestate']) assert.ok(header in message.headers.properties, `${id} documents ${header}`);
    }
  });

  it('has a send operation per producer and a receive operation per consumer', () => {
    for (const definition of EVENT_CATALOGUE) {
      const id = messageId(definition);
      for (const party of definition.producers) assert.equal(document.operations[`${party}.send.${id}`]?.action, 'send');
      for (const party of definition.consumers) assert.equal(document.operations[`${party}.receive.${id}`]?.action, 'receive');
    }
    const expected = EVENT_CATALOGUE.reduce((sum, d) => sum + d.producers.length + d.consumers.length, 0);
    assert.equal(Object.keys(document.operations).length, expected);
  });

  it('uses valid component ids and only references that resolve', () => {
    for (const section of [document.channels, document.operations, document.components.messages]) {
      for (const id of Object.keys(section)) assert.match(id, /^[a-zA-Z0-9.\-_]+$/);
    }
    const refs: string[] = [];
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (typeof node === 'object' && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value);
          else collect(value);
        }
      }
    };
    collect(document);
    assert.ok(refs.length > 0);
    for (const ref of refs) {
      assert.ok(ref.startsWith('#/'), ref);
      const target = ref
        .slice(2)
        .split('/')
        .reduce<unknown>((node, token) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[token] : undefined), document);
      assert.ok(target !== undefined, `unresolved reference ${ref}`);
    }
  });
});
