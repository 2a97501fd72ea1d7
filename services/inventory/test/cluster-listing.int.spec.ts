import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterProvisioningFailed, ClusterReady, ClusterRequested, createEvent, eventsSubject, findDefinition, type CloudEvent } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { ClusterDetailAnswer, ClusterPageAnswer } from '../src/http/cluster-answers.js';
import { ClusterListing, FILTER_FIRST_AT_MOST, WALK_AT_MOST } from '../src/repositories/cluster-listing.js';
import { inventoryService } from '../src/service.js';

interface Item {
  id: string;
  name: string | null;
  model: string;
  status: string;
  provider: string | null;
  kubernetesVersion: string | null;
  labels: Record<string, string>;
}
interface Page {
  items: Item[];
  total: number;
  nextCursor: string | null;
}

const PROVISIONER = '/flotilla/provisioner';
/**
 * The ways a filtered page is read (cluster-listing.ts): a bounded walk of the sort index; filter
 * first; a walk too short for some pages (pages of 3 or 4), so they are read filter first; a walk
 * without a bound.
 */
const READS = [
  { way: 'walked', walkAtMost: WALK_AT_MOST, filterFirstAtMost: FILTER_FIRST_AT_MOST },
  { way: 'filter first', walkAtMost: 0, filterFirstAtMost: FILTER_FIRST_AT_MOST },
  { way: 'walked 12 at most, else filter first', walkAtMost: 12, filterFirstAtMost: FILTER_FIRST_AT_MOST },
  { way: 'walked without a bound', walkAtMost: 0, filterFirstAtMost: 0 },
];
const MODELS = ['platform-provisioned', 'hosted-control-plane', 'user-provisioned'] as const;
const PROVIDERS = ['sim', 'openstack'];
const VERSIONS = ['1.32.4', '1.33.1', '1.33.10', '1.34.2', '1.9.3'];

interface Fixture {
  id: string;
  name: string;
  model: (typeof MODELS)[number];
  provider: string | null;
  version: string;
  labels: Record<string, string>;
  outcome: 'failed' | 'pending' | 'running';
}

/** Cluster `index` of the fixture: its id, name (not in id order), model, provider, labels, and whether it runs or failed. */
function fixture(index: number): Fixture {
  const model = MODELS[index % MODELS.length]!;
  return {
    id: `ls-${String(index).padStart(3, '0')}`,
    // Names run against ids, and some repeat: ties are broken by id.
    name: `n${String((index * 7) % 23).padStart(2, '0')}`,
    model,
    provider: model === 'user-provisioned' ? null : PROVIDERS[index % PROVIDERS.length]!,
    version: VERSIONS[index % VERSIONS.length]!,
    labels: { team: index % 2 === 0 ? 'even' : 'odd', tier: String(index % 3) },
    outcome: index % 5 === 0 ? 'failed' : index % 5 === 1 ? 'pending' : 'running',
  };
}

function events(cluster: Fixture): CloudEvent[] {
  const meta = { subject: cluster.id, source: '/flotilla/inventory' };
  const requested = createEvent(ClusterRequested, meta, {
    name: cluster.name,
    model: cluster.model,
    kubernetesVersion: cluster.version.split('.').slice(0, 2).join('.'),
    labels: cluster.labels,
    controlPlane: { count: 1, machineSize: 'small' },
    nodePools: [],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    ...(cluster.provider ? { infrastructure: { provider: cluster.provider, parameters: {} } } : {}),
  } as never);
  const owner = { subject: cluster.id, source: PROVISIONER };
  if (cluster.outcome === 'running') return [requested, createEvent(ClusterReady, owner, { model: cluster.model, kubernetesVersion: cluster.version, nodeCount: 1 })];
  if (cluster.outcome === 'failed') return [requested, createEvent(ClusterProvisioningFailed, owner, { model: cluster.model, reasons: [{ code: 'quota-exceeded', message: 'no machines left' }] })];
  return [requested];
}

/** Kubernetes versions compared as numbers: 1.9 before 1.10; none before any. */
const versionOrder = (version: string | null) => (version === null ? [-1] : version.replace(/^v/, '').split('.').map(Number));
function compareVersions(a: string | null, b: string | null): number {
  const [x, y] = [versionOrder(a), versionOrder(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

describe('inventory: the fleet listed, filtered and sorted, a keyset page at a time', () => {
  const FIXTURE = Array.from({ length: 30 }, (_, index) => fixture(index));
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let headers: Record<string, string>;

  const publish = async (list: CloudEvent[]) => {
    for (const event of list) await publishEvent(bus.js, eventsSubject({ prefix }, findDefinition(event.type)!.channel), event);
  };
  const get = async (query: string, as = headers) => {
    const response = await fetch(`${service.url}/api/v1/clusters?${query}`, { headers: as });
    return { status: response.status, body: (await response.json()) as Page & { message?: string[] } };
  };
  /** Every page of a listing, following nextCursor; `between` runs before each next page. */
  const walk = async (query: string, limit: number, between: (page: number) => Promise<void> = async () => {}) => {
    const items: Item[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const { status, body } = await get(`${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(status, 200, JSON.stringify(body));
      assert.ok(body.items.length <= limit);
      items.push(...body.items);
      cursor = body.nextCursor;
      if (!cursor) return items;
      await between(page);
    }
    throw new Error('too many pages');
  };

  before(async () => {
    service = await startTestService(inventoryService);
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'inventory-listing-test');
    headers = await service.auth('viewer');
    await publish(FIXTURE.flatMap(events));
    await eventually(async () => {
      const { body } = await get('limit=500');
      const settled = body.items.filter((item) => item.status !== 'Pending').length === FIXTURE.filter((cluster) => cluster.outcome !== 'pending').length;
      return body.total === FIXTURE.length && settled ? true : undefined;
    });
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('filters by model, status, provider, version (a minor or exact), labels and their combinations, with the total of all pages', async () => {
    const statusOf = (cluster: Fixture) => ({ failed: 'Failed', pending: 'Pending', running: 'Running' })[cluster.outcome];
    const cases: [string, (cluster: Fixture) => boolean][] = [
      ['model=hosted-control-plane', (cluster) => cluster.model === 'hosted-control-plane'],
      ['status=Failed', (cluster) => cluster.outcome === 'failed'],
      ['provider=openstack', (cluster) => cluster.provider === 'openstack'],
      // Running clusters report their version; the others show the minor they were requested with.
      ['version=1.33', (cluster) => cluster.version.startsWith('1.33.')],
      ['version=1.33.10', (cluster) => cluster.version === '1.33.10' && cluster.outcome === 'running'],
      ['version=v1.34.2', (cluster) => cluster.version === '1.34.2' && cluster.outcome === 'running'],
      ['labels=team=even,tier=0', (cluster) => cluster.labels['team'] === 'even' && cluster.labels['tier'] === '0'],
      ['model=platform-provisioned&status=Running&labels=team=odd', (cluster) => cluster.model === 'platform-provisioned' && cluster.outcome === 'running' && cluster.labels['team'] === 'odd'],
      ['provider=sim&version=1.32', (cluster) => cluster.provider === 'sim' && cluster.version.startsWith('1.32.')],
    ];
    // Every way of reading a page lists the same.
    const listing = service.app.get(ClusterListing);
    for (const { way, walkAtMost, filterFirstAtMost } of READS) {
      Object.assign(listing, { walkAtMost, filterFirstAtMost });
      for (const [query, matches] of cases) {
        const expected = FIXTURE.filter(matches).map((cluster) => cluster.id);
        assert.ok(expected.length > 0, `${query} matches some of the fixture`);
        const listed = await walk(query, 4);
        assert.deepEqual(listed.map((item) => item.id), expected, `${query} (${way})`);
        assert.deepEqual((await walk(`${query}&sort=name&order=desc`, 3)).map((item) => item.id).sort(), expected, `${query} by name (${way})`);
        assert.equal((await get(`${query}&limit=1`)).body.total, expected.length, `${query}: total`);
        for (const item of listed) assert.equal(item.status, statusOf(FIXTURE.find((cluster) => cluster.id === item.id)!));
      }
    }
    Object.assign(listing, { walkAtMost: WALK_AT_MOST, filterFirstAtMost: FILTER_FIRST_AT_MOST });
  });

  it('lists each cluster as its detail shows it, without the history, whichever way the page is read', async () => {
    const listing = service.app.get(ClusterListing);
    for (const { way, walkAtMost, filterFirstAtMost } of READS) {
      Object.assign(listing, { walkAtMost, filterFirstAtMost });
      for (const item of await walk('labels=team=even', 6)) {
        const response = await fetch(`${service.url}/api/v1/clusters/${item.id}`, { headers });
        const answer: unknown = await response.json();
        const checked = ClusterDetailAnswer.safeParse(answer);
        assert.ok(checked.success, `${item.id}: ${JSON.stringify(checked.error?.issues)}`);
        const { history: _history, historyNextCursor: _next, ...detail } = answer as Record<string, unknown>;
        assert.deepEqual(item, detail, `${item.id} (${way})`);
        assert.deepEqual(Object.keys(item), Object.keys(detail), `${item.id}: the same fields in the same order`);
      }
    }
    Object.assign(listing, { walkAtMost: WALK_AT_MOST, filterFirstAtMost: FILTER_FIRST_AT_MOST });
    const response = await fetch(`${service.url}/api/v1/clusters?limit=2`, { headers });
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const checked = ClusterPageAnswer.safeParse(await response.json());
    assert.ok(checked.success, JSON.stringify(checked.error?.issues));
    const page = checked.data;
    assert.equal(page.items.length, 2);
    assert.ok(page.nextCursor);
  });

  it('sorts by each key in either order, ties by id, and pages without skipping or repeating', async () => {
    const byKey: Record<string, (a: Item, b: Item) => number> = {
      id: () => 0,
      name: (a, b) => ((a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : 0),
      status: (a, b) => (a.status < b.status ? -1 : a.status > b.status ? 1 : 0),
      version: (a, b) => compareVersions(a.kubernetesVersion, b.kubernetesVersion),
    };
    for (const [sort, compare] of Object.entries(byKey)) {
      for (const order of ['asc', 'desc'] as const) {
        const listed = await walk(`sort=${sort}&order=${order}`, 4);
        const sign = order === 'asc' ? 1 : -1;
        const expected = [...listed].sort((a, b) => sign * (compare(a, b) || (a.id < b.id ? -1 : 1)));
        assert.deepEqual(listed.map((item) => item.id), expected.map((item) => item.id), `sort=${sort}&order=${order}`);
        assert.equal(new Set(listed.map((item) => item.id)).size, FIXTURE.length, `sort=${sort}&order=${order}: every cluster once`);
      }
    }
    // The version order is numeric: 1.9 comes before 1.10 and every 1.3x.
    const versions = (await walk('sort=version&status=Running', 50)).map((item) => item.kubernetesVersion);
    assert.equal(versions[0], '1.9.3');
    assert.ok(versions.indexOf('1.33.1') < versions.indexOf('1.33.10'));
    // Created and updated: newest first is the reverse of oldest first.
    for (const sort of ['created', 'updated']) {
      const ascending = (await walk(`sort=${sort}&order=asc`, 7)).map((item) => item.id);
      const descending = (await walk(`sort=${sort}&order=desc`, 7)).map((item) => item.id);
      assert.equal(new Set(ascending).size, FIXTURE.length, sort);
      assert.deepEqual(descending, [...ascending].reverse(), sort);
    }
  });

  it('neither skips nor repeats a cluster while others are added between pages', async () => {
    const before = new Set(FIXTURE.map((cluster) => cluster.id));
    let added = 0;
    for (const query of ['sort=name&order=asc', 'sort=id&order=desc', 'sort=created&order=asc&status=Running']) {
      const listed = await walk(query, 5, async () => {
        // Clusters whose names and ids fall before, among and after the pages seen so far.
        added += 1;
        const batch = [0, 11, 22].map((offset): Fixture => ({ ...fixture(offset + added), id: `ls-${String(offset).padStart(3, '0')}x${added}`, outcome: 'running' }));
        await publish(batch.flatMap(events));
        await eventually(async () => ((await get(`limit=1`)).body.total >= FIXTURE.length + 3 * added ? true : undefined));
      });
      const ids = listed.map((item) => item.id);
      assert.equal(new Set(ids).size, ids.length, `${query}: no cluster twice`);
      const expected = query.includes('status=Running') ? FIXTURE.filter((cluster) => cluster.outcome === 'running').map((cluster) => cluster.id) : [...before];
      for (const id of expected) assert.ok(ids.includes(id), `${query}: ${id}, there from the start, is listed`);
      // The pages read in one order: the same clusters listed at once come in the same order.
      const atOnce = (await get(`${query}&limit=500`)).body.items.map((item) => item.id).filter((id) => ids.includes(id));
      assert.deepEqual(ids, atOnce, query);
    }
    assert.ok(added > 0);
  });

  it('lists a label-scoped caller its scope only, in the items and the total', async () => {
    const odd = await service.auth('viewer', { subject: 'team-odd', scope: { labels: { team: 'odd' } } });
    const { body } = await get('labels=tier=1&limit=500', odd);
    const expected = body.items.filter((item) => item.labels['team'] === 'odd' && item.labels['tier'] === '1');
    assert.ok(body.items.length > 0);
    assert.deepEqual(body.items, expected);
    assert.ok(body.items.every((item) => !('factTimes' in item)), 'items as the detail shows them, without the bookkeeping of fact times');
    assert.equal(body.total, expected.length);
    assert.equal((await get('labels=team=even&limit=500', odd)).body.total, 0);
  });

  it('answers 400 naming the parameter for a bad sort, order, version, labels or a cursor of another sort', async () => {
    const first = await get('sort=name&limit=2');
    const cursor = first.body.nextCursor;
    assert.ok(cursor);
    const bad: [string, string][] = [
      ['sort=size', 'sort'],
      ['order=up', 'order'],
      ['version=latest', 'version'],
      ['labels=team', 'labels'],
      [`sort=version&cursor=${cursor}`, 'cursor'],
      [`sort=name&order=desc&cursor=${cursor}`, 'cursor'],
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ];
    for (const [query, field] of bad) {
      const response = await fetch(`${service.url}/api/v1/clusters?${query}`, { headers });
      assert.equal(response.status, 400, query);
      const body = (await response.json()) as { errors: { field: string }[] };
      assert.deepEqual(
        body.errors.map((error) => error.field),
        [field],
        query,
      );
    }
    assert.equal((await get(`sort=name&limit=2&cursor=${cursor}`)).status, 200);
  });
});
