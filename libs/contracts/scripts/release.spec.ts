import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { defineEvent, eventJsonSchema, formatBreaks, type JsonSchema } from '../src/index.js';
import { findPackageRoot } from './paths.js';
import { checkAgainstReleased, loadReleased, release, RELEASED_DIR, releasedFilePath } from './release.js';

describe('the catalogue against the released baseline', () => {
  const released = loadReleased(findPackageRoot());
  const check = checkAgainstReleased(released);

  it('has a baseline', () => {
    assert.ok(released.size > 0, `no released schemas under ${RELEASED_DIR}`);
  });

  it('breaks no released event type (an incompatible change needs a new event version)', () => {
    const report = check.incompatible.map(({ type, breaks }) => `${type}:\n${formatBreaks(breaks)}`).join('\n\n');
    assert.equal(check.incompatible.length, 0, `incompatible changes to released events:\n\n${report}`);
  });

  it('still carries every released event type', () => {
    assert.deepEqual(check.withdrawn, [], 'released event types missing from the catalogue');
  });
});

const version1 = z.object({ name: z.string(), size: z.enum(['s', 'm']) });
const spec = {
  name: 'WidgetMade',
  topic: 'widget.made',
  version: 1,
  description: 'A widget was made.',
  data: version1,
  producers: ['inventory'],
  consumers: ['inventory'],
} as const;
const Widget = defineEvent(spec);
const Gadget = defineEvent({ ...spec, name: 'GadgetMade', topic: 'gadget.made' });
const withData = (data: z.ZodType) => ({ ...Widget, data });

describe('checkAgainstReleased', () => {
  const released = new Map<string, JsonSchema>([[Widget.type, eventJsonSchema(Widget)]]);

  it('finds an unchanged type unchanged', () => {
    assert.deepEqual(checkAgainstReleased(released, [Widget]), { incompatible: [], withdrawn: [], unreleased: [], changed: [] });
  });

  it('reports a compatible change as changed', () => {
    const check = checkAgainstReleased(released, [withData(version1.extend({ colour: z.string().optional() }))]);
    assert.deepEqual(check.changed, [Widget.type]);
    assert.deepEqual(check.incompatible, []);
  });

  it('reports an incompatible change with its breaks', () => {
    const check = checkAgainstReleased(released, [withData(version1.extend({ size: z.enum(['s']) }))]);
    assert.equal(check.incompatible.length, 1);
    assert.equal(check.incompatible[0]?.breaks[0]?.path, 'data.size');
  });

  it('reports new and withdrawn types', () => {
    const check = checkAgainstReleased(released, [Gadget]);
    assert.deepEqual(check.unreleased, [Gadget.type]);
    assert.deepEqual(check.withdrawn, [Widget.type]);
  });
});

describe('release', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-release-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const readBaseline = () => JSON.parse(readFileSync(join(dir, releasedFilePath(Widget.type)), 'utf8')) as { properties: { data: unknown } };

  it('adds a new type to the baseline', () => {
    const outcome = release(dir, [Widget]);
    assert.deepEqual(outcome.written, [releasedFilePath(Widget.type)]);
    assert.deepEqual(readdirSync(join(dir, RELEASED_DIR)), [`${Widget.type}.json`]);
  });

  it('moves the baseline forward on a compatible change', () => {
    const widened = withData(version1.extend({ colour: z.string().optional() }));
    assert.deepEqual(release(dir, [widened]).written, [releasedFilePath(Widget.type)]);
    assert.deepEqual(readBaseline().properties.data, (eventJsonSchema(widened) as { properties: { data: unknown } }).properties.data);
  });

  it('refuses an incompatible change and writes nothing', () => {
    const before = readFileSync(join(dir, releasedFilePath(Widget.type)), 'utf8');
    const outcome = release(dir, [withData(version1), Gadget]);
    assert.deepEqual(outcome.written, []);
    assert.equal(outcome.check.incompatible[0]?.breaks[0]?.kind, 'property-removed');
    assert.equal(readFileSync(join(dir, releasedFilePath(Widget.type)), 'utf8'), before);
    assert.deepEqual(readdirSync(join(dir, RELEASED_DIR)), [`${Widget.type}.json`]);
  });

  it('refuses to drop a released type', () => {
    const outcome = release(dir, [Gadget]);
    assert.deepEqual(outcome.check.withdrawn, [Widget.type]);
    assert.deepEqual(outcome.written, []);
  });
});
