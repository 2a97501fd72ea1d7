import assert from 'node:assert/strict';
import { AuthBucket, ROLES, type Role } from '@flotilla/auth';
import { declaredRoutes, samplePath, TestTokenIssuer, type DeclaredRoute } from '@flotilla/auth/testing';
import { BusConnection } from '@flotilla/messaging';
import { eventually } from '@flotilla/messaging/testing';
import type { TestService } from './index.js';

/** The roles below a rule's role: each must get 403. */
function rolesBelow(role: Role): Role[] {
  return ROLES.slice(0, ROLES.indexOf(role));
}

/** A token with `alg: none`: header and claims as a real one, no signature. */
function unsignedToken(role: Role): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ iss: 'flotilla', aud: 'flotilla-api', sub: 'forger', jti: 'forged', role, iat: now, exp: now + 3600 })}.`;
}

export interface RouteAccessReport {
  routes: DeclaredRoute[];
  checked: number;
}

/**
 * Walks every HTTP route of a running service and checks its access rule for real, over HTTP:
 * every route declares a rule; a protected route answers 401 (with a Bearer challenge) without a
 * token and with an expired, revoked, wrongly signed or unsigned one; 403 naming the role for
 * each role below its own, and for a label-scoped token where the route is not scoped; and
 * neither for the right role.
 */
export async function checkRouteAccess(service: TestService, options: { params?: Record<string, string> } = {}): Promise<RouteAccessReport> {
  const routes = declaredRoutes(service.app);
  const undeclared = routes.filter((route) => route.rule === undefined).map((route) => `${route.method} ${route.path} (${route.controller}.${route.handler})`);
  assert.deepEqual(undeclared, [], 'every route declares its role with @Access or @Public');

  const issuer = service.issuer;
  const expired = await issuer.token('admin', { expiresInS: -3600 });
  const stranger = await issuer.signed(await TestTokenIssuer.unpublishedKey(), 'admin');
  const revoked = await issuer.token('admin', { tokenId: `revoked-${Date.now()}` });
  const revokedId = JSON.parse(Buffer.from(revoked.split('.')[1]!, 'base64url').toString()) as { jti: string; exp: number };
  const scoped = await issuer.token('admin', { scope: { labels: { team: 'elsewhere' } } });
  const bus = await BusConnection.open(service.env['NATS_URL']!, 'route-access-check');
  try {
    await (await AuthBucket.open(bus.nc, { prefix: service.env['BUS_PREFIX']! })).revoke(revokedId.jti, new Date(revokedId.exp * 1000));
  } finally {
    await bus.drain();
  }

  let checked = 0;
  for (const route of routes) {
    const rule = route.rule!;
    if (rule.kind === 'public') continue;
    const url = `${service.url}${samplePath(route, options.params)}`;
    const call = async (token?: string) => {
      const response = await fetch(url, { method: route.method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(['GET', 'HEAD'].includes(route.method) ? {} : { body: '{}' }) });
      const body = await response.text();
      return { status: response.status, challenge: response.headers.get('www-authenticate'), body };
    };
    const where = `${route.method} ${route.path}`;

    const anonymous = await call();
    assert.equal(anonymous.status, 401, `${where} without a token`);
    assert.match(anonymous.challenge ?? '', /^Bearer realm="flotilla"/, `${where}: WWW-Authenticate`);
    for (const [what, token] of [
      ['expired', expired],
      ['signed by an unknown key', stranger.token],
      ['unsigned (alg none)', unsignedToken('admin')],
      ['garbage', 'not-a-token'],
    ] as const) {
      const answer = await call(token);
      assert.equal(answer.status, 401, `${where} with a token ${what}: ${answer.body}`);
      assert.match(answer.challenge ?? '', /error="invalid_token"/, `${where} with a token ${what}: challenge`);
    }
    // The revocation reaches the service through the bucket within moments.
    await eventually(async () => ((await call(revoked)).status === 401 ? true : undefined), 3_000, `${where} to refuse a revoked token`);

    for (const role of rolesBelow(rule.role)) {
      const answer = await call(await issuer.token(role));
      assert.equal(answer.status, 403, `${where} as ${role}`);
      assert.match(answer.body, new RegExp(`needs the ${rule.role} role`), `${where} as ${role}: names the role`);
    }
    if (!rule.scoped) assert.equal((await call(scoped)).status, 403, `${where} with a label-scoped token`);

    const allowed = await call(await issuer.token(rule.role));
    assert.ok(![401, 403].includes(allowed.status), `${where} as ${rule.role}: ${allowed.status} ${allowed.body}`);
    checked++;
  }
  return { routes, checked };
}
