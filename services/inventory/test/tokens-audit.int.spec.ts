import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthBucket } from '@flotilla/auth';
import { allAuditSubject, streamName, type AuditRecord } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import pg from 'pg';
import { inventoryService } from '../src/service.js';
import { TokenIssuer } from '../src/tokens/token-issuer.js';

describe('inventory: tokens, label scopes and the audit trail', () => {
  let inventory: TestService;
  let neighbour: TestService;
  let bus: BusConnection;
  let admin: Record<string, string>;

  before(async () => {
    inventory = await startTestService(inventoryService);
    // A second replica on the same bus, as any other service would be: revocations must reach it too.
    neighbour = await startTestService(inventoryService, { BUS_PREFIX: inventory.env['BUS_PREFIX']!, DATABASE_SCHEMA: inventory.env['DATABASE_SCHEMA']! });
    bus = await BusConnection.open(TEST_NATS_URL, 'inventory-tokens-test');
    admin = await inventory.auth('admin');
  });

  after(async () => {
    await neighbour.dispose({ keepSchema: true });
    await inventory.dispose();
    await deleteTestStreams(bus.jsm, inventory.env['BUS_PREFIX']!);
    await bus.drain();
  });

  const call = (service: TestService, path: string, headers: Record<string, string>, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${service.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...headers, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const cluster = (id: string, labels: Record<string, string>) => ({ id, name: id, labels, model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 1, machineSize: 'small' } });

  it('issues a token shown once, stores no token, and refuses a bad request naming the field', async () => {
    const bad = await call(inventory, '/api/v1/tokens', admin, { method: 'POST', body: { subject: 'ci', role: 'root', expiresIn: '10y' } });
    assert.equal(bad.status, 400);
    const fields = ((await bad.json()) as { errors: { field: string }[] }).errors.map((error) => error.field).sort();
    assert.deepEqual(fields, ['expiresIn', 'role']);

    const created = await call(inventory, '/api/v1/tokens', admin, { method: 'POST', body: { subject: 'ci', role: 'viewer', expiresIn: '1h' } });
    assert.equal(created.status, 201);
    const { token, id } = (await created.json()) as { token: string; id: string };
    assert.equal((await call(inventory, '/api/v1/clusters', bearer(token))).status, 200);
    const listed = (await (await call(inventory, '/api/v1/tokens', admin)).json()) as { items: { id: string }[] };
    assert.ok(listed.items.some((item) => item.id === id));
    assert.ok(!JSON.stringify(listed).includes(token), 'a listing never shows a token');

    const client = new pg.Client({ connectionString: inventory.env['DATABASE_URL'] });
    await client.connect();
    try {
      const dump = await client.query(`SELECT row_to_json(t)::text AS row FROM "${inventory.env['DATABASE_SCHEMA']}".api_tokens t`);
      assert.ok(!dump.rows.some((row: { row: string }) => row.row.includes(token.split('.')[2]!)), 'the token is never stored');
    } finally {
      await client.end();
    }
  });

  it('limits a label-scoped operator to its clusters: listing, reading, creating and commanding', async () => {
    for (const [id, team] of [['team-a-one', 'a'], ['team-b-one', 'b']] as const) {
      assert.equal((await call(inventory, '/api/v1/clusters', admin, { method: 'POST', body: cluster(id, { team }) })).status, 202);
    }
    const created = await call(inventory, '/api/v1/tokens', admin, { method: 'POST', body: { subject: 'team-a', role: 'operator', scope: { labels: { team: 'a' } }, expiresIn: '1h' } });
    const teamA = bearer(((await created.json()) as { token: string }).token);

    const page = (await (await call(inventory, '/api/v1/clusters', teamA)).json()) as { items: { id: string }[]; total: number };
    assert.deepEqual(page.items.map((item) => item.id), ['team-a-one']);
    assert.equal(page.total, 1);
    assert.equal((await call(inventory, '/api/v1/clusters/team-a-one', teamA)).status, 200);
    assert.equal((await call(inventory, '/api/v1/clusters/team-b-one', teamA)).status, 403);
    assert.equal((await call(inventory, '/api/v1/clusters/team-b-one', teamA, { method: 'DELETE' })).status, 403);
    assert.equal((await call(inventory, '/api/v1/clusters', teamA, { method: 'POST', body: cluster('team-b-two', { team: 'b' }) })).status, 403);
    assert.equal((await call(inventory, '/api/v1/clusters', teamA, { method: 'POST', body: cluster('unlabelled', {}) })).status, 403);
    assert.equal((await call(inventory, '/api/v1/clusters', teamA, { method: 'POST', body: cluster('team-a-two', { team: 'a', env: 'dev' }) })).status, 202);
    // Fleet-wide routes refuse a scoped token.
    const tokens = await call(inventory, '/api/v1/audit', teamA);
    assert.equal(tokens.status, 403);
  });

  it('revokes a token on every replica within two seconds', async () => {
    const created = await call(inventory, '/api/v1/tokens', admin, { method: 'POST', body: { subject: 'leaver', role: 'viewer', expiresIn: '1h' } });
    const { token, id } = (await created.json()) as { token: string; id: string };
    assert.equal((await call(neighbour, '/api/v1/clusters', bearer(token))).status, 200);

    const revokedAt = Date.now();
    assert.equal((await call(inventory, `/api/v1/tokens/${id}`, admin, { method: 'DELETE' })).status, 200);
    await eventually(async () => ((await call(neighbour, '/api/v1/clusters', bearer(token))).status === 401 ? true : undefined), 2_000, 'the neighbour to refuse the revoked token');
    const elapsed = Date.now() - revokedAt;
    assert.ok(elapsed < 2_000, `refused after ${elapsed} ms`);
    const refused = await call(inventory, '/api/v1/clusters', bearer(token));
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /token revoked/);
    assert.equal((await call(inventory, '/api/v1/tokens/00000000-0000-4000-8000-000000000000', admin, { method: 'DELETE' })).status, 404);

    // Once the token has expired anyway, its revocation is forgotten; not before.
    const issuer = inventory.app.get(TokenIssuer);
    assert.equal(await issuer.tidy(), 0);
    const bucket = inventory.app.get(AuthBucket);
    assert.ok((await bucket.revocations()).some((revocation) => revocation.tokenId === id));
    assert.ok((await issuer.tidy(Date.now() + 2 * 3_600_000)) >= 1);
    assert.ok(!(await bucket.revocations()).some((revocation) => revocation.tokenId === id));
  });

  it('rotates the signing key without breaking the tokens already issued', async () => {
    const before = (await (await call(inventory, '/api/v1/tokens', admin, { method: 'POST', body: { subject: 'old', role: 'viewer', expiresIn: '1h' } })).json()) as { token: string; keyId: string };
    const rotated = (await (await call(inventory, '/api/v1/tokens/signing-keys', admin, { method: 'POST' })).json()) as { kid: string };
    assert.notEqual(rotated.kid, before.keyId);
    const after = (await (await call(inventory, '/api/v1/tokens', admin, { method: 'POST', body: { subject: 'new', role: 'viewer', expiresIn: '1h' } })).json()) as { token: string; keyId: string };
    assert.equal(after.keyId, rotated.kid);
    for (const token of [before.token, after.token]) {
      await eventually(async () => ((await call(neighbour, '/api/v1/clusters', bearer(token))).status === 200 ? true : undefined), 2_000, 'both tokens accepted');
    }
  });

  it('withdraws a retired key at once, with every token it signed, but never the active one', async () => {
    const old = (await (await call(inventory, '/api/v1/tokens', admin, { method: 'POST', body: { subject: 'compromised', role: 'viewer', expiresIn: '1h' } })).json()) as { token: string; keyId: string };
    assert.equal((await call(inventory, `/api/v1/tokens/signing-keys/${old.keyId}`, admin, { method: 'DELETE' })).status, 409, 'the active key cannot be withdrawn');
    assert.equal((await call(inventory, '/api/v1/tokens/signing-keys', admin, { method: 'POST' })).status, 201);
    const withdrawn = await call(inventory, `/api/v1/tokens/signing-keys/${old.keyId}`, admin, { method: 'DELETE' });
    assert.equal(withdrawn.status, 200);
    assert.ok(((await withdrawn.json()) as { withdrawnAt: string | null }).withdrawnAt);
    await eventually(async () => ((await call(neighbour, '/api/v1/clusters', bearer(old.token))).status === 401 ? true : undefined), 2_000, 'the withdrawn key refused on the neighbour');
    assert.equal((await call(inventory, '/api/v1/tokens/signing-keys/nope', admin, { method: 'DELETE' })).status, 404);
    const fresh = (await (await call(inventory, '/api/v1/tokens', admin, { method: 'POST', body: { subject: 'after', role: 'viewer', expiresIn: '1h' } })).json()) as { token: string };
    await eventually(async () => ((await call(neighbour, '/api/v1/clusters', bearer(fresh.token))).status === 200 ? true : undefined), 2_000, 'new tokens still work');
  });

  it('answers 401, not 500, to a token whose issuer is text no header may carry', async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const response = await call(inventory, '/api/v1/clusters', bearer(`${encode({ alg: 'EdDSA', typ: 'JWT' })}.${encode({ iss: 'Āé\r\n', sub: 'x' })}.c2ln`));
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /tokens of this issuer are not accepted/);
  });

  it('stores only records whose service is the one of their subject', async () => {
    const prefix = inventory.env['BUS_PREFIX']!;
    const forged = { id: '7d0f0a52-7b0e-4c53-9d1a-0f4f7b9c1e01', time: new Date().toISOString(), service: 'importer', subject: 'mallory', method: 'DELETE', route: '/x', result: 'ok', status: 200 };
    const honest = { ...forged, id: '7d0f0a52-7b0e-4c53-9d1a-0f4f7b9c1e02', service: 'provisioner' };
    await bus.js.publish(`${prefix}.audit.provisioner`, JSON.stringify(forged));
    await bus.js.publish(`${prefix}.audit.provisioner`, JSON.stringify(honest));
    await eventually(async () => {
      const answer = (await (await call(inventory, '/api/v1/audit?subject=mallory', admin)).json()) as { items: AuditRecord[] };
      return answer.items.length > 0 ? answer.items : undefined;
    }, 10_000, 'the honest record').then((items) => assert.deepEqual(items.map((record) => record.id), [honest.id]));
  });

  it('pages the audit trail with a cursor, neither skipping nor repeating', async () => {
    const all = (await (await call(inventory, '/api/v1/audit?limit=1000', admin)).json()) as { items: AuditRecord[]; nextCursor: string | null };
    assert.equal(all.nextCursor, null);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await call(inventory, `/api/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`, admin)).json()) as { items: AuditRecord[]; nextCursor: string | null };
      seen.push(...page.items.map((record) => record.id));
      cursor = page.nextCursor;
    } while (cursor);
    // Records keep arriving (this test's own reads are not recorded; refusals elsewhere may be), so compare the older part.
    assert.deepEqual(seen.slice(-all.items.length), all.items.map((record) => record.id));
    assert.equal((await call(inventory, '/api/v1/audit?cursor=bm90LWEtY3Vyc29y', admin)).status, 400);
  });

  it('records changes and refusals with who, what and trace, never a token or a body, on the bus and in GET /api/v1/audit', async () => {
    const response = await call(inventory, '/api/v1/clusters/team-b-one', bearer('garbage.token.here'), { method: 'DELETE' });
    assert.equal(response.status, 401);
    const records = await eventually(async () => {
      const answer = (await (await call(inventory, '/api/v1/audit?limit=1000', admin)).json()) as { items: AuditRecord[] };
      const refusals = answer.items.filter((record) => record.result === 'refused' && record.clusterId === 'team-b-one');
      const creations = answer.items.filter((record) => record.method === 'POST' && record.route === '/api/v1/clusters' && record.result === 'ok');
      return refusals.length >= 3 && creations.length >= 3 ? answer.items : undefined;
    }, 10_000, 'audit records gathered from the bus');
    const anonymous = records.find((record) => record.subject === 'anonymous' && record.method === 'DELETE');
    assert.ok(anonymous, 'the anonymous refusal is recorded');
    assert.equal(anonymous.route, '/api/v1/clusters/:id');
    assert.equal(anonymous.status, 401);
    const scoped = records.find((record) => record.subject === 'team-a' && record.result === 'refused' && record.clusterId === 'team-b-one');
    assert.ok(scoped?.reason?.includes('team=a'), `a refusal says why: ${JSON.stringify(scoped)}`);
    const creation = records.find((record) => record.subject === 'test-admin' && record.clusterId === 'team-a-one');
    assert.equal(creation?.role, 'admin');
    assert.ok(creation?.tokenId);
    const text = JSON.stringify(records);
    assert.ok(!text.includes('eyJ'), 'no token in audit records');
    assert.ok(!text.includes('machineSize'), 'no request body in audit records');

    const filtered = (await (await call(inventory, '/api/v1/audit?subject=team-a&result=refused', admin)).json()) as { items: AuditRecord[] };
    assert.ok(filtered.items.length > 0 && filtered.items.every((record) => record.subject === 'team-a' && record.result === 'refused'));
    assert.equal((await call(inventory, '/api/v1/audit?result=maybe', admin)).status, 400);

    const info = await bus.jsm.streams.info(streamName({ prefix: inventory.env['BUS_PREFIX']! }, 'audit'));
    assert.ok(info.state.messages >= records.length, 'records are on the audit stream');
    assert.deepEqual(info.config.subjects, [allAuditSubject({ prefix: inventory.env['BUS_PREFIX']! })]);
  });
});
